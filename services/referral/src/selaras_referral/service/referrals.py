"""Referrals: creation (by hand, from suggestions, re-routing), approval, transitions through
the state machine with an append-only trail, and reads scoped to who may see them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from selaras_referral import errors
from selaras_referral.codes import CaseStatus, ConsentScope, Priority, ReferralStatus, TrailKind
from selaras_referral.events import emit
from selaras_referral.models import IntakeCase, Referral, TrailEntry
from selaras_referral.repository.referrals import ReferralFilter, ReferralRepository
from selaras_referral.schemas.referrals import TransitionRequest
from selaras_referral.service import access
from selaras_referral.service.transitions import REROUTABLE, Needs, Side, allowed_targets, rule_for
from selaras_referral.service.views import referral_read
from selaras_referral.settings import ReferralSettings
from selaras_shared.auth import Principal, Role
from selaras_shared.errors import Conflict, FieldIssue, InvalidInput
from selaras_shared.etag import stale
from selaras_shared.i18n import Text

SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """Who makes a change, as the trail records it."""

    subject: str
    role: str
    organization: str | None

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        """The actor of a principal's request."""
        return cls(principal.subject, principal.role.value, principal.organization)


SYSTEM_ACTOR = Actor(SYSTEM, SYSTEM, None)


@dataclass(frozen=True)
class Target:
    """Where a new referral goes and what is known about it."""

    program: str
    organization: str
    program_name: str | None
    source_level: str | None
    requires_approval: bool
    eligibility_checked: bool
    eligibility_status: str | None
    eligibility_problem: dict[str, str] | None


class ReferralService:
    """Referral rules over one session, at one moment (`now`)."""

    def __init__(self, session: AsyncSession, settings: ReferralSettings, now: datetime) -> None:
        self.session = session
        self.settings = settings
        self.now = now
        self.referrals = ReferralRepository(session)

    # --- reads ------------------------------------------------------------------------

    async def get(
        self, principal: Principal, referral_id: uuid.UUID
    ) -> tuple[Referral, IntakeCase]:
        """The referral and its case if the principal may read it; 404 otherwise."""
        found = await self.referrals.get(referral_id)
        if found is None or not access.can_read_referral(principal, *found):
            raise errors.referral_not_found(referral_id)
        return found

    async def page(
        self, principal: Principal, criteria: ReferralFilter, *, limit: int, cursor: str | None
    ) -> tuple[Sequence[Referral], str | None]:
        """One page of the referrals the principal may read, newest first."""
        return await self.referrals.page(
            access.referral_filter(principal), criteria, limit=limit, cursor=cursor
        )

    async def trail(self, principal: Principal, referral_id: uuid.UUID) -> Sequence[TrailEntry]:
        """The referral's audit trail, oldest first."""
        await self.get(principal, referral_id)
        return await self.referrals.trail(referral_id)

    async def allowed(self, principal: Principal, referral_id: uuid.UUID) -> list[ReferralStatus]:
        """The states the principal may move the referral to now."""
        referral, case = await self.get(principal, referral_id)
        return allowed_targets(
            ReferralStatus(referral.status), access.sides(principal, referral, case)
        )

    # --- creation ---------------------------------------------------------------------

    def require_referrer(self, principal: Principal, case: IntakeCase) -> None:
        """Only the referring office in jurisdiction refers, and only from an open case."""
        if principal.role not in access.REFERRERS or not principal.covers(case.region):
            raise errors.not_allowed(
                Text(
                    "Peran {role} tidak dapat membuat rujukan untuk kasus ini",
                    "Role {role} may not refer this case",
                    {"role": principal.role.value},
                )
            )
        if case.status == CaseStatus.closed:
            raise errors.case_closed(case.id)

    async def create(
        self,
        principal: Principal,
        case: IntakeCase,
        target: Target,
        *,
        priority: Priority | None,
        parent: Referral | None = None,
    ) -> Referral:
        """A draft referral of the case to `target`; a child of `parent` when re-routed."""
        self.require_referrer(principal, case)
        if parent is not None:
            await self._check_reroutable(parent, case)
        problems: dict[str, Any] = {}
        if not case.registry_checked and case.registry_problem:
            problems["registry"] = case.registry_problem
        if target.eligibility_problem:
            problems["eligibility"] = target.eligibility_problem
        referral = Referral(
            case_id=case.id,
            household_id=case.household_id,
            region=case.region,
            program=target.program,
            program_name=target.program_name,
            organization=target.organization,
            source_level=target.source_level,
            priority=(priority.value if priority else case.priority),
            registry_checked=case.registry_checked,
            eligibility_checked=target.eligibility_checked,
            eligibility_status=target.eligibility_status,
            check_problems=problems,
            requires_approval=target.requires_approval,
            parent_referral_id=parent.id if parent else None,
            created_by=principal.subject,
            created_at=self.now,
            updated_at=self.now,
        )
        await self.referrals.add(referral)
        await self.referrals.append(
            TrailEntry(
                referral_id=referral.id,
                kind=TrailKind.transition.value,
                actor=principal.subject,
                role=principal.role.value,
                organization=principal.organization,
                at=self.now,
                from_status=None,
                to_status=ReferralStatus.draft.value,
                reason=f"re-routed from {parent.id}" if parent else None,
            )
        )
        # A draft is not yet addressed to anyone: its event goes to the referring side only.
        await self.announce(referral, {"from": None, "to": "draft", "reason": None}, receiver=None)
        return referral

    async def _check_reroutable(self, parent: Referral, case: IntakeCase) -> None:
        if parent.case_id != case.id:
            raise errors.field_invalid(
                "parent_referral_id",
                "other_case",
                Text(
                    "Rujukan induk milik kasus lain", "The parent referral belongs to another case"
                ),
            )
        if parent.status not in REROUTABLE:
            raise Conflict(
                Text(
                    "Hanya rujukan yang ditolak atau gagal yang dapat dialihkan (status: {status})",
                    "Only a rejected or failed referral can be re-routed (status: {status})",
                    {"status": parent.status},
                ),
                errors=[
                    FieldIssue(
                        "parent_referral_id",
                        "not_reroutable",
                        Text("Status tidak dapat dialihkan", "Status cannot be re-routed"),
                    )
                ],
            )
        if await self.referrals.children(parent.id):
            raise Conflict(
                Text(
                    "Rujukan {id} sudah dialihkan",
                    "Referral {id} has already been re-routed",
                    {"id": str(parent.id)},
                )
            )

    # --- approval and transitions -----------------------------------------------------

    async def approve(
        self, principal: Principal, referral_id: uuid.UUID, note: str | None
    ) -> Referral:
        """A manager in jurisdiction approves a draft referral to a programme needing it."""
        referral, case = await self.get(principal, referral_id)
        if principal.role != Role.manager or not access.can_read_case(principal, case):
            raise errors.not_allowed(
                Text(
                    "Hanya manajer di wilayah ini yang dapat menyetujui rujukan",
                    "Only a manager in this jurisdiction may approve referrals",
                )
            )
        if referral.status != ReferralStatus.draft:
            raise Conflict(
                Text(
                    "Hanya rujukan draf yang disetujui (status: {status})",
                    "Only draft referrals are approved (status: {status})",
                    {"status": referral.status},
                )
            )
        if not referral.requires_approval or referral.approved_at is not None:
            raise Conflict(
                Text(
                    "Rujukan ini tidak memerlukan persetujuan (lagi)",
                    "This referral does not need approval (any more)",
                )
            )
        changed = await self.referrals.change(
            referral,
            expected_status=referral.status,
            values={
                "approved_at": self.now,
                "approved_by": principal.subject,
                "updated_at": self.now,
            },
        )
        if not changed:
            raise errors.invalid_transition(referral.status, referral.status, [], concurrent=True)
        await self.referrals.append(
            TrailEntry(
                referral_id=referral.id,
                kind=TrailKind.approval.value,
                actor=principal.subject,
                role=principal.role.value,
                organization=principal.organization,
                at=self.now,
                from_status=referral.status,
                to_status=referral.status,
                reason=note,
            )
        )
        found = await self.referrals.get(referral.id)
        assert found is not None
        return found[0]

    async def transition_as(
        self,
        principal: Principal,
        referral_id: uuid.UUID,
        request: TransitionRequest,
        *,
        expected: int | None = None,
        if_match: str = "",
    ) -> Referral:
        """Move the referral as the principal asks, if the table lets its sides do it."""
        referral, case = await self.get(principal, referral_id)
        sides = access.sides(principal, referral, case)
        return await self.transition(
            referral,
            case,
            request,
            sides=sides,
            actor=Actor.of(principal),
            expected=expected,
            if_match=if_match,
        )

    async def transition(
        self,
        referral: Referral,
        case: IntakeCase,
        request: TransitionRequest,
        *,
        sides: frozenset[Side],
        actor: Actor,
        expected: int | None = None,
        if_match: str = "",
    ) -> Referral:
        """Validate and apply one transition; exactly one of two concurrent ones wins."""
        current = ReferralStatus(referral.status)
        rule = rule_for(current, request.to)
        if rule is None or not rule.sides & sides:
            raise errors.invalid_transition(
                current.value, request.to.value, allowed_targets(current, sides)
            )
        _check_payload(rule.needs, request)
        if expected is not None and expected != referral.version:
            raise stale(referral.version, if_match)
        if request.to == ReferralStatus.requested:
            _check_can_send(referral, case)
        values = self._values_for(referral, request)
        if not await self.referrals.change(referral, expected_status=current.value, values=values):
            found = await self.referrals.get(referral.id)
            now_status = found[0].status if found else current.value
            raise errors.invalid_transition(
                now_status,
                request.to.value,
                allowed_targets(ReferralStatus(now_status), sides),
                concurrent=True,
            )
        outcome = request.outcome.model_dump(mode="json") if request.outcome else None
        await self.referrals.append(
            TrailEntry(
                referral_id=referral.id,
                kind=TrailKind.transition.value,
                actor=actor.subject,
                role=actor.role,
                organization=actor.organization,
                at=self.now,
                from_status=current.value,
                to_status=request.to.value,
                reason=request.reason,
                outcome=outcome,
            )
        )
        found = await self.referrals.get(referral.id)
        assert found is not None
        changed = found[0]
        await self.announce(
            changed, {"from": current.value, "to": request.to.value, "reason": request.reason}
        )
        return changed

    def _values_for(self, referral: Referral, request: TransitionRequest) -> dict[str, Any]:
        """The columns a transition sets besides status and version: timestamps, due dates,
        reason and outcome."""
        to = request.to
        values: dict[str, Any] = {"status": to.value, "updated_at": self.now}
        if request.reason is not None:
            values["reason"] = request.reason
        response, resolution = self.settings.sla_terms(
            referral.program, Priority(referral.priority)
        )
        if to == ReferralStatus.requested:
            values |= {"requested_at": self.now, "response_due_at": self.now + response}
        elif to == ReferralStatus.accepted:
            values |= {
                "accepted_at": self.now,
                "responded_at": self.now,
                "resolution_due_at": self.now + resolution,
            }
        elif to == ReferralStatus.rejected:
            values["responded_at"] = self.now
        elif to in (ReferralStatus.completed, ReferralStatus.failed):
            values["resolved_at"] = self.now
            if to == ReferralStatus.completed:
                values["completed_at"] = self.now
                values["outcome"] = (
                    request.outcome.model_dump(mode="json") if request.outcome else None
                )
        elif to == ReferralStatus.closed:
            values["closed_at"] = self.now
        return values

    async def announce(
        self, referral: Referral, change: dict[str, Any], *, receiver: str | None = ""
    ) -> None:
        """Emit `referral.<to>` (or the `to` given) with the referral's read model."""
        data = referral_read(referral, self.now, self.settings.sla_at_risk_ratio).model_dump(
            mode="json"
        )
        await emit(
            self.session,
            type=f"referral.{change['to']}",
            subject_type="referral",
            subject_id=referral.id,
            region=referral.region,
            organization=referral.organization if receiver == "" else receiver,
            data={**data, **change},
        )


def _check_payload(needs: Needs, request: TransitionRequest) -> None:
    """A reason where the table asks for one, an outcome only (and always) on completion."""
    if needs == Needs.reason and request.reason is None:
        raise _missing(
            "reason",
            Text(
                "Alasan wajib diisi untuk perubahan ke {to}",
                "A reason is required to move to {to}",
                {"to": request.to.value},
            ),
        )
    if needs == Needs.outcome and request.outcome is None:
        raise _missing(
            "outcome",
            Text(
                "Hasil layanan wajib diisi saat rujukan selesai",
                "An outcome is required to complete a referral",
            ),
        )
    if needs != Needs.outcome and request.outcome is not None:
        message = Text(
            "Hasil layanan hanya dicatat saat rujukan selesai (completed)",
            "An outcome is recorded only when completing a referral",
        )
        raise InvalidInput(message, errors=[FieldIssue("outcome", "unexpected", message)])


def _missing(field: str, message: Text) -> InvalidInput:
    return InvalidInput(message, errors=[FieldIssue(field, "missing", message)])


def _check_can_send(referral: Referral, case: IntakeCase) -> None:
    """Before a referral is sent: the person consented to referral, and a manager approved
    it if the programme requires that."""
    if ConsentScope.referral.value not in case.consent.get("scope", []):
        message = Text(
            "Persetujuan warga tidak mencakup rujukan; perbarui persetujuan pada kasus",
            "The person's consent does not cover referral; update the case's consent",
        )
        raise Conflict(message, errors=[FieldIssue("consent", "consent_missing", message)])
    if referral.requires_approval and referral.approved_at is None:
        message = Text(
            "Program ini memerlukan persetujuan manajer sebelum rujukan dikirim",
            "This programme needs a manager's approval before the referral is sent",
        )
        raise Conflict(message, errors=[FieldIssue("approval", "approval_required", message)])
