"""Import job and import issue queries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from selaras_registry.models import ImportIssue, ImportJob


class ImportRepository:
    """Queries on import jobs and their row issues."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, job: ImportJob) -> None:
        """Stage a new job."""
        self.session.add(job)

    async def get(self, job_id: uuid.UUID) -> ImportJob | None:
        """The job row, fresh from the database."""
        return await self.session.get(ImportJob, job_id, populate_existing=True)

    async def recent(
        self, region: str, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[ImportJob]:
        """Jobs submitted from within `region` (a jurisdiction prefix), newest first."""
        statement = select(ImportJob).where(col(ImportJob.jurisdiction).startswith(region))
        if after is not None:
            at, job_id = after
            statement = statement.where(
                or_(
                    col(ImportJob.created_at) < at,
                    and_(col(ImportJob.created_at) == at, col(ImportJob.id) < job_id),
                )
            )
        statement = statement.order_by(
            col(ImportJob.created_at).desc(), col(ImportJob.id).desc()
        ).limit(limit)
        return list(await self.session.scalars(statement))

    async def claimable(self, stale_before: datetime, limit: int = 10) -> list[uuid.UUID]:
        """Jobs waiting for a runner: queued, or running with a stale heartbeat."""
        rows = await self.session.scalars(
            select(col(ImportJob.id))
            .where(_claimable(stale_before))
            .order_by(col(ImportJob.created_at))
            .limit(limit)
        )
        return list(rows)

    async def claim(self, job_id: uuid.UUID, stale_before: datetime, now: datetime) -> bool:
        """Take a job for this runner; the conditional UPDATE lets exactly one replica win."""
        result = await self.session.execute(
            update(ImportJob)
            .where(col(ImportJob.id) == job_id, _claimable(stale_before))
            .values(status="running", heartbeat_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def set(self, job_id: uuid.UUID, **values: Any) -> None:
        """Update columns of a job (progress, heartbeat, outcome)."""
        await self.session.execute(
            update(ImportJob)
            .where(col(ImportJob.id) == job_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def add_issues(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write row issues in one statement."""
        if rows:
            await self.session.execute(insert(ImportIssue), list(rows))

    async def clear_issues(self, job_id: uuid.UUID) -> None:
        """Remove a job's issues (a job started over from the first row)."""
        await self.session.execute(delete(ImportIssue).where(col(ImportIssue.job_id) == job_id))

    async def issues(
        self, job_id: uuid.UUID, *, after: int, limit: int | None
    ) -> list[ImportIssue]:
        """A job's issues in file order (row, then the order they were found)."""
        statement = (
            select(ImportIssue)
            .where(col(ImportIssue.job_id) == job_id, col(ImportIssue.id) > after)
            .order_by(col(ImportIssue.id))
        )
        if limit is not None:
            statement = statement.limit(limit)
        return list(await self.session.scalars(statement))


def _claimable(stale_before: datetime) -> Any:
    return or_(
        col(ImportJob.status) == "queued",
        and_(
            col(ImportJob.status) == "running",
            or_(col(ImportJob.heartbeat_at).is_(None), col(ImportJob.heartbeat_at) < stale_before),
        ),
    )
