"""Cases (intake): registration checked against the registry, idempotent offline creation,
changes under If-Match, closing after follow-up."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from selaras_referral import errors
from selaras_referral.codes import CaseStatus
from selaras_referral.events import emit
from selaras_referral.models import IdempotencyRecord, IntakeCase
from selaras_referral.repository.cases import CaseRepository
from selaras_referral.repository.referrals import ReferralRepository
from selaras_referral.schemas.cases import CaseCreate, CaseUpdate
from selaras_referral.service import access
from selaras_referral.service.transitions import FINAL
from selaras_referral.service.upstream import HouseholdCheck
from selaras_referral.service.views import case_event_data, case_read, problem_json
from selaras_shared.auth import Principal
from selaras_shared.errors import Conflict, Forbidden
from selaras_shared.etag import stale
from selaras_shared.i18n import Text
from selaras_shared.idempotency import IdempotencyStore, request_digest, require_same_request

SCOPE = "cases"


@dataclass(frozen=True)
class Answer:
    """The HTTP answer to a case creation, and whether it is a stored one replayed."""

    status_code: int
    body: dict[str, Any]
    replayed: bool


class CaseService:
    """Case rules for one principal over one session, at one moment (`now`)."""

    def __init__(self, session: AsyncSession, principal: Principal, now: datetime) -> None:
        self.session = session
        self.principal = principal
        self.now = now
        self.cases = CaseRepository(session)
        self.idempotency = IdempotencyStore(session, IdempotencyRecord)

    def authorize_create(self, body: CaseCreate) -> None:
        """Refuse before anything is asked of the registry: wrong role (403), or a village
        outside the caller's jurisdiction (422 on `village_code`)."""
        if self.principal.role not in access.CASE_WRITERS:
            raise Forbidden(
                Text(
                    "Peran {role} tidak dapat mencatat kasus",
                    "Role {role} may not register cases",
                    {"role": self.principal.role.value},
                )
            )
        if not self.principal.covers(body.village_code):
            raise errors.field_invalid(
                "village_code",
                "outside_jurisdiction",
                Text(
                    "Desa {code} di luar wilayah kerja Anda",
                    "Village {code} is outside your jurisdiction",
                    {"code": body.village_code},
                ),
            )

    async def create(self, body: CaseCreate, check: HouseholdCheck, key: str | None) -> Answer:
        """Record the case once per Idempotency-Key; a retry with the same body replays the
        first answer, with another body it is a 422 on the key."""
        self.authorize_create(body)
        claim: IdempotencyRecord | None = None
        if key is not None:
            digest = request_digest(body)
            stored = await self.idempotency.find(SCOPE, self.principal.subject, key)
            if stored is not None:
                require_same_request(stored.request_sha256, digest)
                return Answer(stored.status_code, dict(stored.response), replayed=True)
            claim = IdempotencyRecord(
                scope=SCOPE,
                subject=self.principal.subject,
                key=key,
                request_sha256=digest,
                status_code=0,
                response={},
            )
            try:
                await self.idempotency.claim(claim)
            except IntegrityError:
                # A concurrent request with this key committed first: answer as it did.
                await self.session.rollback()
                stored = await self.idempotency.find(SCOPE, self.principal.subject, key)
                if stored is None:
                    raise Conflict(
                        Text(
                            "Permintaan lain dengan Idempotency-Key yang sama sedang diproses",
                            "Another request with the same Idempotency-Key is in progress",
                        ),
                        headers={"Retry-After": "1"},
                    ) from None
                require_same_request(stored.request_sha256, digest)
                return Answer(stored.status_code, dict(stored.response), replayed=True)
        case = await self._insert(body, check)
        response = case_read(case).model_dump(mode="json")
        if claim is not None:
            claim.status_code = 201
            claim.response = response
            await self.session.flush()
        return Answer(201, response, replayed=False)

    async def _insert(self, body: CaseCreate, check: HouseholdCheck) -> IntakeCase:
        if check.checked:
            if check.village_code != body.village_code:
                raise errors.field_invalid(
                    "village_code",
                    "registry_mismatch",
                    Text(
                        "Menurut registri keluarga ini tinggal di desa {code}",
                        "The registry has this household in village {code}",
                        {"code": check.village_code},
                    ),
                )
            if check.member_found is False:
                raise errors.field_invalid(
                    "member_id",
                    "not_a_member",
                    Text(
                        "Orang ini bukan anggota aktif keluarga tersebut",
                        "This person is not an active member of the household",
                    ),
                )
        case_id = body.id or uuid.uuid4()
        if body.id is not None and await self.cases.get(body.id) is not None:
            raise errors.case_exists(body.id)
        case = IntakeCase(
            id=case_id,
            household_id=body.household_id,
            member_id=body.member_id,
            region=body.village_code,
            registry_checked=check.checked,
            registry_problem=problem_json(check.problem),
            channel=body.channel.value,
            type=body.type.value,
            sector=body.sector.value,
            ppks=[code.value for code in body.ppks],
            description=body.description,
            priority=body.priority.value,
            sensitive=body.sensitive,
            consent=body.consent.model_dump(mode="json"),
            registered_by=self.principal.subject,
            registered_role=self.principal.role.value,
            office=self.principal.jurisdiction,
            created_at=self.now,
            updated_at=self.now,
        )
        await self.cases.add(case)
        await self._announce(case, "case.created")
        return case

    async def get(self, case_id: uuid.UUID, *, for_update: bool = False) -> IntakeCase:
        """The case if the principal may read it; 404 otherwise."""
        case = await self.cases.get(case_id, for_update=for_update)
        if case is None or not access.can_read_case(self.principal, case):
            raise errors.case_not_found(case_id)
        return case

    async def update(
        self, case_id: uuid.UUID, body: CaseUpdate, expected: int | None, if_match: str
    ) -> IntakeCase:
        """Change an open case at the version the client last read."""
        case = await self.get(case_id, for_update=True)
        self._require_writer(case)
        if expected is not None and expected != case.version:
            raise stale(case.version, if_match)
        if case.status == CaseStatus.closed:
            raise errors.case_closed(case.id)
        for name in body.model_fields_set:
            value = getattr(body, name)
            if name == "consent":
                value = value.model_dump(mode="json")
            elif name == "ppks":
                value = [code.value for code in value]
            elif hasattr(value, "value"):
                value = value.value
            setattr(case, name, value)
        case.version += 1
        case.updated_at = self.now
        await self.session.flush()
        await self._announce(case, "case.updated")
        return case

    async def close(self, case_id: uuid.UUID) -> IntakeCase:
        """Close the case after follow-up: its owner only, once every referral is final."""
        case = await self.get(case_id, for_update=True)
        if (
            not (
                self.principal.role in access.OWNERS or self.principal.subject == case.registered_by
            )
            or self.principal.role not in access.CASE_WRITERS
        ):
            raise errors.not_allowed(
                Text(
                    "Hanya pemilik kasus yang dapat menutupnya", "Only the case owner may close it"
                )
            )
        if case.status == CaseStatus.closed:
            raise errors.case_closed(case.id)
        pending = await ReferralRepository(self.session).unfinished_of_case(
            case.id, [s.value for s in FINAL]
        )
        if pending:
            raise Conflict(
                Text(
                    "Masih ada {n} rujukan yang belum selesai",
                    "{n} referral(s) are not finished yet",
                    {"n": pending},
                )
            )
        case.status = CaseStatus.closed.value
        case.closed_at = self.now
        case.version += 1
        case.updated_at = self.now
        await self.session.flush()
        await self._announce(case, "case.closed")
        return case

    async def page(
        self, *, limit: int, cursor: str | None
    ) -> tuple[Sequence[IntakeCase], str | None]:
        """One page of the cases the principal may read, newest first."""
        return await self.cases.page(access.case_filter(self.principal), limit=limit, cursor=cursor)

    def _require_writer(self, case: IntakeCase) -> None:
        if self.principal.role not in access.CASE_WRITERS:
            raise Forbidden(
                Text(
                    "Peran {role} tidak dapat mengubah kasus",
                    "Role {role} may not change cases",
                    {"role": self.principal.role.value},
                )
            )

    async def _announce(self, case: IntakeCase, type_: str) -> None:
        await emit(
            self.session,
            type=type_,
            subject_type="case",
            subject_id=case.id,
            region=case.region,
            data=case_event_data(case),
        )
