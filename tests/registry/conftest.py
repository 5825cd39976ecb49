"""Registry fixtures: one migrated database per run, one rolled-back transaction per test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from selaras_registry.app import create_app
from selaras_registry.cli import MIGRATIONS
from selaras_registry.models import (
    AccessLog,
    Household,
    HouseholdTag,
    HouseholdVersion,
    IdempotencyRecord,
    ImportIssue,
    ImportJob,
    Member,
)
from selaras_registry.settings import RegistrySettings
from selaras_shared.db import make_engine, make_sessionmaker, read_only
from selaras_shared.migrations import upgrade
from tests.support import AUTH, bearer, on_database, rolled_back, savepoint_sessions

Tokens = Callable[..., dict[str, str]]


@pytest.fixture(scope="session")
async def registry_url(databases: Any) -> str:
    url: str = await databases.new("registry")
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    return url


@pytest.fixture(scope="session")
async def registry_engine(registry_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(registry_url, pool_size=5)
    yield engine
    await engine.dispose()


def _app(
    url: str,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    read_sessionmaker: async_sessionmaker[AsyncSession] | None = None,
) -> FastAPI:
    app = create_app(RegistrySettings(database_url=url, max_body_bytes=64 * 1024), AUTH)
    return on_database(app, engine, sessionmaker, read_sessionmaker)


@pytest.fixture
async def connection(registry_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection whose outer transaction is rolled back after the test."""
    async with rolled_back(registry_engine) as connection:
        yield connection


@pytest.fixture
async def session(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """A session inside the test's transaction, for looking at what the API stored."""
    async with savepoint_sessions(connection)() as s:
        yield s


@pytest.fixture
def app(registry_url: str, registry_engine: AsyncEngine, connection: AsyncConnection) -> FastAPI:
    sessionmaker = savepoint_sessions(connection)
    return _app(registry_url, registry_engine, sessionmaker)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as c:
        yield c


@pytest.fixture
async def committed_client(
    registry_url: str, registry_engine: AsyncEngine
) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests commit for real (concurrency tests); tables emptied after."""
    app = _app(
        registry_url,
        registry_engine,
        make_sessionmaker(registry_engine),
        make_sessionmaker(read_only(registry_engine)),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as c:
        yield c
    async with registry_engine.begin() as connection:
        for table in (
            AccessLog,
            HouseholdTag,
            HouseholdVersion,
            Member,
            Household,
            ImportIssue,
            ImportJob,
            IdempotencyRecord,
        ):
            await connection.execute(delete(table))


@pytest.fixture
def tokens() -> Tokens:
    """Authorization headers for a principal: tokens(role=..., jurisdiction=..., org=...)."""

    def make(
        role: str = "front_office",
        jurisdiction: str = "",
        sub: str = "operator-1",
        org: str | None = None,
    ) -> dict[str, str]:
        return bearer(role, jurisdiction, sub, org)

    return make
