"""Dashboard statistics over the referrals a principal may read (partners: their
organisation's; others: their jurisdiction's).

Counts by status are grouped in SQL on both databases. Medians, SLA breaches and outcome
sums are computed in Python over one bounded query of the few columns they need: the
median has no portable SQL form, and outcome amounts live in a JSON column.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from selaras_referral.codes import ReferralStatus
from selaras_referral.models import IntakeCase, Referral
from selaras_referral.schemas.notes import Outcomes, Stats, StatusCount
from selaras_referral.service import access
from selaras_referral.service.transitions import ACTIVE
from selaras_shared.auth import Principal, Role

#: The most referrals the Python-side figures look at in one request.
MAX_ROWS = 200_000
REGENCY_DIGITS = 4


def _scope(principal: Principal) -> ColumnElement[bool]:
    if principal.role == Role.partner:
        return col(Referral.organization) == (principal.organization or "")
    return access.referral_filter(principal)


async def stats(session: AsyncSession, principal: Principal, now: datetime) -> Stats:
    """The figures for the principal's dashboard at `now`."""
    scope = _scope(principal)
    base = (
        select().select_from(Referral).join(IntakeCase, col(IntakeCase.id) == col(Referral.case_id))
    )

    async def counts(key: Any) -> list[StatusCount]:
        rows = await session.execute(
            base.add_columns(key.label("key"), col(Referral.status), func.count())
            .where(scope)
            .group_by(key, col(Referral.status))
            .order_by(key, col(Referral.status))
        )
        return [StatusCount(key=str(k), status=s, count=n) for k, s, n in rows]

    by_village = await counts(col(Referral.region))
    by_regency = await counts(func.substr(col(Referral.region), 1, REGENCY_DIGITS))
    by_program = await counts(col(Referral.program))
    by_organization = await counts(col(Referral.organization))

    rows = (
        await session.execute(
            base.add_columns(
                col(Referral.status),
                col(Referral.program),
                col(Referral.source_level),
                col(Referral.requested_at),
                col(Referral.accepted_at),
                col(Referral.completed_at),
                col(Referral.response_due_at),
                col(Referral.responded_at),
                col(Referral.resolution_due_at),
                col(Referral.resolved_at),
                col(Referral.outcome),
            )
            .where(scope)
            .limit(MAX_ROWS)
        )
    ).all()
    to_accept: list[float] = []
    to_complete: list[float] = []
    with_due = breached = 0
    delivered: dict[tuple[str, str | None], list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        (status, program, level, requested, accepted, completed) = row[:6]
        (response_due, responded, resolution_due, resolved, outcome) = row[6:]
        if requested and accepted:
            to_accept.append((accepted - requested).total_seconds() / 3600)
        if requested and completed:
            to_complete.append((completed - requested).total_seconds() / 3600)
        if response_due is not None:
            with_due += 1
            if _missed(response_due, responded, status == ReferralStatus.requested, now) or (
                resolution_due is not None
                and _missed(resolution_due, resolved, status in ACTIVE, now)
            ):
                breached += 1
        if status in (ReferralStatus.completed, ReferralStatus.closed) and outcome:
            sums = delivered[(program, level)]
            sums[0] += 1
            sums[1] += int(outcome.get("people") or 0)
            sums[2] += int(outcome.get("amount_rupiah") or 0)
    return Stats(
        by_village=by_village,
        by_regency=by_regency,
        by_program=by_program,
        by_organization=by_organization,
        median_hours_to_accept=statistics.median(to_accept) if to_accept else None,
        median_hours_to_complete=statistics.median(to_complete) if to_complete else None,
        with_due_date=with_due,
        breached=breached,
        breach_rate=breached / with_due if with_due else None,
        outcomes=[
            Outcomes(program=p, source_level=lv, completed=n, people=people, amount_rupiah=amount)
            for (p, lv), (n, people, amount) in sorted(delivered.items(), key=lambda i: i[0][0])
        ],
    )


def _missed(due: datetime, done: datetime | None, running: bool, now: datetime) -> bool:
    """A due date is missed when met late, or still running past it."""
    return (done is not None and done > due) or (done is None and running and now > due)
