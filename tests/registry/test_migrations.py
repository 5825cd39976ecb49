"""The migrations build exactly the schema the models describe, and can be undone."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from selaras_registry import models  # noqa: F401
from selaras_registry.cli import MIGRATIONS
from selaras_shared.db import make_engine


async def test_models_match_migrations(registry_engine: AsyncEngine) -> None:
    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, SQLModel.metadata))

    async with registry_engine.connect() as connection:
        assert await connection.run_sync(diff) == []


async def test_health(committed_client: httpx.AsyncClient) -> None:
    assert (await committed_client.get("/healthz")).json() == {"status": "ok"}
    assert (await committed_client.get("/readyz")).json() == {"status": "ready"}


async def test_migrations_go_down_and_up_again(databases: Any) -> None:
    url = await databases.new("registry_downgrade")
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.set_main_option("sqlalchemy.url", url)
    await asyncio.to_thread(command.upgrade, config, "head")
    await asyncio.to_thread(command.downgrade, config, "0001")
    await asyncio.to_thread(command.downgrade, config, "base")
    await asyncio.to_thread(command.upgrade, config, "head")
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            revision = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        await engine.dispose()
    assert revision == ScriptDirectory.from_config(config).get_current_head()
