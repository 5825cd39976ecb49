"""Referral and audit-trail queries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from selaras_referral.codes import ReferralStatus
from selaras_referral.models import IntakeCase, Referral, TrailEntry
from selaras_referral.repository.pages import newest_first
from selaras_referral.service.transitions import ACTIVE


@dataclass(frozen=True)
class ReferralFilter:
    """Optional criteria of a referral list."""

    case_id: uuid.UUID | None = None
    status: str | None = None
    organization: str | None = None
    program: str | None = None
    region: str | None = None
    overdue_at: datetime | None = None


def overdue(now: datetime) -> ColumnElement[bool]:
    """Referrals past their running due date at `now`."""
    return or_(
        and_(
            col(Referral.status) == ReferralStatus.requested.value,
            col(Referral.response_due_at) < now,
        ),
        and_(
            col(Referral.status).in_([s.value for s in ACTIVE]),
            col(Referral.resolution_due_at) < now,
        ),
    )


class ReferralRepository:
    """Queries on referrals and their audit trail."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, referral_id: uuid.UUID) -> tuple[Referral, IntakeCase] | None:
        """The referral and its case, fresh from the database."""
        row = (
            await self.session.execute(
                select(Referral, IntakeCase)
                .join(IntakeCase, col(IntakeCase.id) == col(Referral.case_id))
                .where(col(Referral.id) == referral_id)
                .execution_options(populate_existing=True)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def add(self, referral: Referral) -> None:
        """Insert a referral."""
        self.session.add(referral)
        await self.session.flush()

    async def children(self, parent_id: uuid.UUID) -> Sequence[Referral]:
        """The referrals re-routed from `parent_id`."""
        return (
            await self.session.scalars(
                select(Referral).where(col(Referral.parent_referral_id) == parent_id)
            )
        ).all()

    async def unfinished_of_case(self, case_id: uuid.UUID, final: list[str]) -> int:
        """How many referrals of the case are not in a final state."""
        rows = await self.session.scalars(
            select(col(Referral.id)).where(
                col(Referral.case_id) == case_id, col(Referral.status).not_in(final)
            )
        )
        return len(rows.all())

    async def last_receiver(self, program: str) -> str | None:
        """The organisation the latest referral to `program` went to (when the catalogue
        cannot be asked, the programme's receiver is taken from here)."""
        found: str | None = await self.session.scalar(
            select(col(Referral.organization))
            .where(col(Referral.program) == program, col(Referral.eligibility_checked))
            .order_by(col(Referral.created_at).desc())
            .limit(1)
        )
        return found

    async def page(
        self,
        visible: ColumnElement[bool],
        criteria: ReferralFilter,
        *,
        limit: int,
        cursor: str | None,
    ) -> tuple[Sequence[Referral], str | None]:
        """One page of the visible referrals matching `criteria`, newest first."""
        statement = (
            select(Referral)
            .join(IntakeCase, col(IntakeCase.id) == col(Referral.case_id))
            .where(visible)
        )
        if criteria.case_id is not None:
            statement = statement.where(col(Referral.case_id) == criteria.case_id)
        if criteria.status is not None:
            statement = statement.where(col(Referral.status) == criteria.status)
        if criteria.organization is not None:
            statement = statement.where(col(Referral.organization) == criteria.organization)
        if criteria.program is not None:
            statement = statement.where(col(Referral.program) == criteria.program)
        if criteria.region is not None:
            statement = statement.where(col(Referral.region).startswith(criteria.region))
        if criteria.overdue_at is not None:
            statement = statement.where(overdue(criteria.overdue_at))
        return await newest_first(
            self.session,
            statement,
            Referral.created_at,  # type: ignore[arg-type]
            Referral.id,  # type: ignore[arg-type]
            limit=limit,
            cursor=cursor,
        )

    async def change(
        self, referral: Referral, *, expected_status: str, values: dict[str, Any]
    ) -> bool:
        """Apply `values` only if the referral still has the status and version it was read
        with: of two concurrent changes exactly one matches. False when another won."""
        result = await self.session.execute(
            update(Referral)
            .where(
                col(Referral.id) == referral.id,
                col(Referral.version) == referral.version,
                col(Referral.status) == expected_status,
            )
            .values(**values, version=referral.version + 1)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def append(self, entry: TrailEntry) -> None:
        """Append an entry to the audit trail."""
        self.session.add(entry)
        await self.session.flush()

    async def trail(self, referral_id: uuid.UUID) -> Sequence[TrailEntry]:
        """The referral's audit trail, oldest first."""
        return (
            await self.session.scalars(
                select(TrailEntry)
                .where(col(TrailEntry.referral_id) == referral_id)
                .order_by(col(TrailEntry.seq))
            )
        ).all()

    async def due_for_sweep(self, now: datetime, expire_before: datetime) -> Sequence[uuid.UUID]:
        """Referrals to escalate (past a due date, not yet escalated for it) or to expire."""
        breach_unescalated = or_(
            and_(
                col(Referral.status) == ReferralStatus.requested.value,
                col(Referral.response_due_at) < now,
                col(Referral.escalated_for).is_(None),
            ),
            and_(
                col(Referral.status).in_([s.value for s in ACTIVE]),
                col(Referral.resolution_due_at) < now,
                or_(
                    col(Referral.escalated_for).is_(None),
                    col(Referral.escalated_for) != "resolution",
                ),
            ),
        )
        expired = and_(
            col(Referral.status) == ReferralStatus.requested.value,
            col(Referral.response_due_at) < expire_before,
        )
        return (
            await self.session.scalars(
                select(col(Referral.id))
                .where(or_(breach_unescalated, expired))
                .order_by(col(Referral.created_at))
            )
        ).all()
