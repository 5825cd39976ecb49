"""Eligibility fixtures: one migrated database per run, one rolled-back transaction per test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from selaras_eligibility.app import create_app
from selaras_eligibility.cli import MIGRATIONS
from selaras_eligibility.settings import EligibilitySettings
from selaras_shared.db import make_engine
from selaras_shared.migrations import upgrade
from tests.support import AUTH, bearer, on_database, rolled_back, savepoint_sessions

Tokens = Callable[..., dict[str, str]]


@pytest.fixture(scope="session")
async def eligibility_url(databases: Any) -> str:
    url: str = await databases.new("eligibility")
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    return url


@pytest.fixture(scope="session")
async def eligibility_engine(eligibility_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(eligibility_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(eligibility_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection whose outer transaction is rolled back after the test."""
    async with rolled_back(eligibility_engine) as connection:
        yield connection


@pytest.fixture
async def session(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """A session inside the test's transaction, for looking at what the API stored."""
    async with savepoint_sessions(connection)() as s:
        yield s


@pytest.fixture
def app(
    eligibility_url: str, eligibility_engine: AsyncEngine, connection: AsyncConnection
) -> FastAPI:
    sessionmaker = savepoint_sessions(connection)
    app = create_app(
        EligibilitySettings(database_url=eligibility_url, max_body_bytes=64 * 1024), AUTH
    )
    return on_database(app, eligibility_engine, sessionmaker)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://eligibility") as c:
        yield c


@pytest.fixture
def tokens() -> Tokens:
    """Authorization headers for a principal: tokens(role=..., jurisdiction=..., org=...)."""

    def make(
        role: str = "admin",
        jurisdiction: str = "",
        sub: str = "catalogue-admin",
        org: str | None = None,
    ) -> dict[str, str]:
        return bearer(role, jurisdiction, sub, org)

    return make
