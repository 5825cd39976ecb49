"""Test databases: SQLite by default, PostgreSQL with SELARAS_TEST_DB=postgres.

`make test` runs the suite once per database. The PostgreSQL run takes its server from
SELARAS_TEST_POSTGRES_URL, creates a throw-away database, migrates it once, and drops it
at the end. When PostgreSQL is wanted but unreachable the run is skipped locally and fails
in CI (CI=true).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from selaras_shared.db import make_engine

BACKEND = os.environ.get("SELARAS_TEST_DB", "sqlite")


def pytest_report_header() -> str:
    return f"selaras test database: {BACKEND}"


def _postgres_admin_url() -> str:
    url = os.environ.get("SELARAS_TEST_POSTGRES_URL")
    if not url:
        message = "SELARAS_TEST_DB=postgres needs SELARAS_TEST_POSTGRES_URL"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return url


async def _postgres_database() -> tuple[str, str]:
    """Create a fresh database; returns (its URL, the admin URL)."""
    admin = make_url(_postgres_admin_url()).set(drivername="postgresql+asyncpg")
    name = f"selaras_test_{uuid.uuid4().hex[:10]}"
    try:
        connection = await asyncpg.connect(
            host=admin.host,
            port=admin.port or 5432,
            user=admin.username,
            password=admin.password,
            database=admin.database or "postgres",
        )
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL unreachable at {admin.render_as_string(hide_password=True)}: {exc}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return admin.set(database=name).render_as_string(hide_password=False), admin.render_as_string(
        hide_password=False
    )


async def _drop_postgres(url: str, admin_url: str) -> None:
    admin = make_url(admin_url)
    name = make_url(url).database
    connection = await asyncpg.connect(
        host=admin.host,
        port=admin.port or 5432,
        user=admin.username,
        password=admin.password,
        database=admin.database or "postgres",
    )
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def tmp_db_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("db")


class TestDatabase:
    """Creates and drops per-run databases for each service."""

    def __init__(self, tmp_dir: Path) -> None:
        self.tmp_dir = tmp_dir
        self.created: list[tuple[str, str]] = []

    async def new(self, service: str) -> str:
        if BACKEND == "postgres":
            url, admin = await _postgres_database()
            self.created.append((url, admin))
            return url
        return (
            f"sqlite+aiosqlite:///{self.tmp_dir / (service + '-' + uuid.uuid4().hex[:6] + '.db')}"
        )

    async def drop_all(self) -> None:
        for url, admin in self.created:
            await _drop_postgres(url, admin)


@pytest.fixture(scope="session")
async def databases(tmp_db_dir: Path) -> AsyncIterator[TestDatabase]:
    manager = TestDatabase(tmp_db_dir)
    yield manager
    await manager.drop_all()


@pytest.fixture(scope="session")
def backend() -> Iterator[str]:
    yield BACKEND


async def engine_for(url: str) -> AsyncEngine:
    return make_engine(url, pool_size=5)
