"""Referral fixtures: one migrated database per run, one rolled-back transaction per test,
and real registry and eligibility apps as the referral app's upstreams (see upstreams.py)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from selaras_referral.app import create_app
from selaras_referral.cli import MIGRATIONS
from selaras_shared.db import make_engine, make_sessionmaker
from selaras_shared.migrations import upgrade
from tests.referral.upstreams import (
    Upstreams,
    upstream_apps,
    upstream_engines,
    upstream_settings,
    upstreams,
)
from tests.support import AUTH, bearer, on_database, rolled_back, savepoint_sessions

# Webhook secrets are sealed with a key made for this test run, which every settings
# object of the run (apps, dispatchers, commands) reads from the environment.
os.environ["SELARAS_REFERRAL_WEBHOOK_SECRET_KEYS"] = json.dumps([Fernet.generate_key().decode()])

# Fixtures defined with the upstreams, offered to every referral test.
__all__ = ["upstream_apps", "upstream_engines", "upstreams"]


Tokens = Callable[..., dict[str, str]]


@pytest.fixture(scope="session")
async def referral_url(databases: Any) -> str:
    url: str = await databases.new("referral")
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    return url


@pytest.fixture(scope="session")
async def referral_engine(referral_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(referral_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(referral_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection whose outer transaction is rolled back after the test."""
    async with rolled_back(referral_engine) as connection:
        yield connection


@pytest.fixture
async def session(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """A session inside the test's transaction, for looking at what the API stored."""
    async with savepoint_sessions(connection)() as s:
        yield s


@pytest.fixture
def app(
    referral_url: str,
    referral_engine: AsyncEngine,
    connection: AsyncConnection,
    upstreams: Upstreams,
) -> FastAPI:
    sessionmaker = savepoint_sessions(connection)
    settings = upstream_settings(database_url=referral_url, max_body_bytes=64 * 1024)
    app = create_app(settings, AUTH)
    on_database(app, referral_engine, sessionmaker)
    app.state.upstream = upstreams.upstream
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://referral") as c:
        yield c


@pytest.fixture
def tokens() -> Tokens:
    """Authorization headers for a principal: tokens(role=..., jurisdiction=..., org=...)."""

    def make(
        role: str = "front_office",
        jurisdiction: str = "7303",
        sub: str = "fo-7303",
        org: str | None = None,
    ) -> dict[str, str]:
        return bearer(role, jurisdiction, sub, org)

    return make


@pytest.fixture(scope="session")
async def committing_engine(databases: Any) -> AsyncIterator[AsyncEngine]:
    """A database of its own for tests whose requests commit (see `committing_client`)."""
    url: str = await databases.new("referral_committing")
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    engine = make_engine(url, pool_size=8)
    yield engine
    await engine.dispose()


@pytest.fixture
async def committing_client(
    committing_engine: AsyncEngine, upstreams: Upstreams
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose requests commit for real, each in its own transaction, so
    that concurrent requests meet as they would in production. Its database is its own,
    so that what the tests commit never shows in the rolled-back tests' data."""
    app = create_app(upstream_settings(database_url=str(committing_engine.url)), AUTH)
    on_database(app, committing_engine, make_sessionmaker(committing_engine))
    app.state.upstream = upstreams.upstream
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://referral") as c:
        yield c
