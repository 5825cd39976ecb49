"""Test helpers every service's fixtures share: a rolled-back transaction per test, sessions
inside it, and bearer headers for a principal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from selaras_shared.auth import Principal, Role, mint_token

SECRET = "test-secret-0123456789-0123456789-abcdef"


@asynccontextmanager
async def rolled_back(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection whose outer transaction is rolled back at the end."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        await transaction.rollback()


def savepoint_sessions(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions that commit to savepoints of the test's transaction, as an app's would."""
    return async_sessionmaker(
        connection,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )


def bearer(role: str, jurisdiction: str, sub: str, org: str | None) -> dict[str, str]:
    """An Authorization header with a token for this principal, signed with `SECRET`."""
    principal = Principal(subject=sub, role=Role(role), jurisdiction=jurisdiction, organization=org)
    return {"Authorization": f"Bearer {mint_token(principal, SECRET)}"}
