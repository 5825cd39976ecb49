"""Idempotency-record queries: find, claim and purge stored answers to keyed writes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from selaras_registry.models import IdempotencyRecord


class IdempotencyRepository:
    """Queries on idempotency records, one per (scope, subject, key)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self, scope: str, subject: str, key: str) -> IdempotencyRecord | None:
        """The stored record of this key, fresh from the database."""
        return await self.session.scalar(
            select(IdempotencyRecord)
            .where(
                col(IdempotencyRecord.scope) == scope,
                col(IdempotencyRecord.subject) == subject,
                col(IdempotencyRecord.key) == key,
            )
            .execution_options(populate_existing=True)
        )

    async def claim(self, record: IdempotencyRecord) -> None:
        """Insert the record now, so that a concurrent request with the same key meets the
        unique index (and, on PostgreSQL, waits for this transaction) before doing any work.
        Raises IntegrityError when the key is already stored."""
        self.session.add(record)
        await self.session.flush()

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
