"""Idempotency-record queries: find, claim and purge stored answers to keyed writes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from selaras_registry.models import IdempotencyRecord
from selaras_shared.idempotency import IdempotencyStore


class IdempotencyRepository(IdempotencyStore[IdempotencyRecord]):
    """Queries on idempotency records, one per (scope, subject, key)."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session, IdempotencyRecord)

    async def purge(
        self,
        *,
        before: datetime,
        scope: str | None = None,
        subject: str | None = None,
        key: str | None = None,
    ) -> int:
        """Delete records created before `before`; scope, subject and key narrow it down."""
        statement = delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < before)
        for column, value in (
            (IdempotencyRecord.scope, scope),
            (IdempotencyRecord.subject, subject),
            (IdempotencyRecord.key, key),
        ):
            if value is not None:
                statement = statement.where(col(column) == value)
        result = await self.session.execute(statement.execution_options(synchronize_session=False))
        return int(getattr(result, "rowcount", 0) or 0)
