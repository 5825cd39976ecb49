"""Test helpers every service's fixtures share: the test token secret, an app pointed at the
test's database, a rolled-back transaction per test, sessions inside it, and bearer headers
for a principal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from selaras_shared.auth import Principal, Role, TokenVerifier, mint_token
from selaras_shared.db import make_sessionmaker, read_only
from selaras_shared.settings import AuthSettings

SECRET = "test-secret-0123456789-0123456789-abcdef"
AUTH = AuthSettings(jwt_secret=SECRET)


def on_database(
    app: FastAPI,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    read_sessionmaker: async_sessionmaker[AsyncSession] | None = None,
) -> FastAPI:
    """Give an app what its lifespan would, on the test's database: the engine (which also
    serves exports), sessions (committing ones on `engine`, or the test's own
    `sessionmaker`, which then serves reads too unless `read_sessionmaker` is given) and a
    verifier of tokens signed with SECRET."""
    app.state.engine = engine
    app.state.export_engine = engine
    if sessionmaker is None:
        sessionmaker = make_sessionmaker(engine)
        read_sessionmaker = read_sessionmaker or make_sessionmaker(read_only(engine))
    app.state.sessionmaker = sessionmaker
    app.state.read_sessionmaker = read_sessionmaker or sessionmaker
    app.state.verifier = TokenVerifier(AUTH)
    return app


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
