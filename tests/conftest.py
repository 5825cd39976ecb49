"""Test databases: SQLite by default, PostgreSQL with SELARAS_TEST_DB=postgres.

`make test` runs the suite once per database. The PostgreSQL run takes its server from
SELARAS_TEST_POSTGRES_URL, creates a throw-away database, migrates it once, and drops it
at the end. When PostgreSQL is wanted but unreachable the run is skipped locally and fails
in CI (CI=true).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import NoReturn

import asyncpg
import pytest
from sqlalchemy.engine import URL, make_url

BACKEND = os.environ.get("SELARAS_TEST_DB", "sqlite")


def pytest_report_header() -> str:
    return f"selaras test database: {BACKEND}"


def _unavailable(message: str) -> NoReturn:
    # Locally a missing PostgreSQL skips the run; in CI it is a failure.
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _postgres_admin_url() -> URL:
    url = os.environ.get("SELARAS_TEST_POSTGRES_URL")
    if not url:
        _unavailable("SELARAS_TEST_DB=postgres needs SELARAS_TEST_POSTGRES_URL")
    return make_url(url).set(drivername="postgresql+asyncpg")


async def _admin_execute(admin: URL, sql: str) -> None:
    try:
        connection = await asyncpg.connect(
            host=admin.host,
            port=admin.port or 5432,
            user=admin.username,
            password=admin.password,
            database=admin.database or "postgres",
        )
    except (OSError, asyncpg.PostgresError) as exc:
        _unavailable(
            f"PostgreSQL unreachable at {admin.render_as_string(hide_password=True)}: {exc}"
        )
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def tmp_db_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("db")


class TestDatabases:
    """Creates a database per service for this run, and drops the PostgreSQL ones after."""

    def __init__(self, tmp_dir: Path) -> None:
        self.tmp_dir = tmp_dir
        self.created: list[str] = []

    async def new(self, service: str) -> str:
        """A fresh, empty database URL for `service`."""
        name = f"selaras_test_{service}_{uuid.uuid4().hex[:8]}"
        if BACKEND != "postgres":
            return f"sqlite+aiosqlite:///{self.tmp_dir / (name + '.db')}"
        admin = _postgres_admin_url()
        await _admin_execute(admin, f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return admin.set(database=name).render_as_string(hide_password=False)

    async def drop_all(self) -> None:
        """Drop what `new` created on PostgreSQL."""
        for name in self.created:
            await _admin_execute(
                _postgres_admin_url(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
            )


@pytest.fixture(scope="session")
async def databases(tmp_db_dir: Path) -> AsyncIterator[TestDatabases]:
    manager = TestDatabases(tmp_db_dir)
    yield manager
    await manager.drop_all()
