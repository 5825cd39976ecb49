"""The SLA sweep: escalate referrals past a due date (once per breach) and expire requested
referrals nobody answered, as the system, audited like any transition.

A referral breaches its response due date while `requested`, and its resolution due date
while accepted, in progress or on hold. Each breach is escalated once, to the supervisors
of the village's sub-district (`escalated_to` = the sub-district code), with a
`referral.escalated` event. A requested referral still unanswered
`expiry_grace_days` after its response due date is cancelled with reason `expired`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from selaras_referral.codes import ReferralStatus, TrailKind
from selaras_referral.models import IntakeCase, Referral, TrailEntry
from selaras_referral.repository.referrals import ReferralRepository
from selaras_referral.schemas.referrals import TransitionRequest
from selaras_referral.service.referrals import SYSTEM, SYSTEM_ACTOR, ReferralService
from selaras_referral.service.transitions import Side
from selaras_referral.settings import ReferralSettings
from selaras_shared.errors import InvalidTransition

EXPIRED = "expired"
SUB_DISTRICT_DIGITS = 6


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did."""

    escalated: int
    expired: int


async def sweep(session: AsyncSession, settings: ReferralSettings, now: datetime) -> SweepReport:
    """Escalate every unescalated breach and expire every unanswered request, at `now`."""
    service = ReferralService(session, settings, now)
    repository = ReferralRepository(session)
    grace = timedelta(days=settings.expiry_grace_days)
    escalated = expired = 0
    for referral_id in await repository.due_for_sweep(now, now - grace):
        found = await repository.get(referral_id)
        if found is None:
            continue
        referral, case = found
        due = referral.response_due_at
        if referral.status == ReferralStatus.requested and due is not None and due < now - grace:
            expired += await _expire(service, referral, case)
        else:
            escalated += await _escalate(service, repository, referral)
    return SweepReport(escalated=escalated, expired=expired)


async def _expire(service: ReferralService, referral: Referral, case: IntakeCase) -> int:
    try:
        await service.transition(
            referral,
            case,
            TransitionRequest(to=ReferralStatus.cancelled, reason=EXPIRED),
            sides=frozenset({Side.system}),
            actor=SYSTEM_ACTOR,
        )
    except InvalidTransition:
        return 0  # answered in the meantime
    return 1


async def _escalate(
    service: ReferralService, repository: ReferralRepository, referral: Referral
) -> int:
    breach = "response" if referral.status == ReferralStatus.requested else "resolution"
    if referral.escalated_for == breach:
        return 0
    supervisor_region = referral.region[:SUB_DISTRICT_DIGITS]
    changed = await repository.change(
        referral,
        expected_status=referral.status,
        values={
            "escalated_at": service.now,
            "escalated_to": supervisor_region,
            "escalated_for": breach,
            "updated_at": service.now,
        },
    )
    if not changed:
        return 0
    await repository.append(
        TrailEntry(
            referral_id=referral.id,
            kind=TrailKind.escalation.value,
            actor=SYSTEM,
            role=SYSTEM,
            at=service.now,
            from_status=referral.status,
            to_status=referral.status,
            reason=f"{breach} overdue; escalated to supervisors of {supervisor_region}",
        )
    )
    found = await repository.get(referral.id)
    assert found is not None
    await service.announce(
        found[0],
        {"from": referral.status, "to": "escalated", "reason": breach, "escalated_for": breach},
    )
    return 1
