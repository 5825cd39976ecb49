"""Running a service's Alembic migrations (before start, never inside app startup)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from selaras_shared.db import is_sqlite, make_engine


async def run_migrations(url: str, run: Callable[[Connection], None]) -> None:
    """Open `url` and run the Alembic migration callback on one connection."""
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run)
    finally:
        await engine.dispose()


def ensure_sqlite_directory(url: str) -> None:
    """Create the folder of an SQLite database file so that a fresh checkout just runs."""
    if is_sqlite(url) and ":///" in url:
        path = url.split(":///", 1)[1].split("?", 1)[0]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def upgrade(script_location: str, url: str, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision` with the given migration scripts."""
    ensure_sqlite_directory(url)
    config = Config()
    config.set_main_option("script_location", script_location)
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, revision)


async def upgrade_async(script_location: str, url: str, revision: str = "head") -> None:
    """`upgrade` from async code (Alembic's env runs its own event loop)."""
    await asyncio.to_thread(upgrade, script_location, url, revision)
