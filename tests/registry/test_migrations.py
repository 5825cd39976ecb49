"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

import httpx
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from selaras_registry import models  # noqa: F401


async def test_models_match_migrations(registry_engine: AsyncEngine) -> None:
    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, SQLModel.metadata))

    async with registry_engine.connect() as connection:
        assert await connection.run_sync(diff) == []


async def test_health(committed_client: httpx.AsyncClient) -> None:
    assert (await committed_client.get("/healthz")).json() == {"status": "ok"}
    assert (await committed_client.get("/readyz")).json() == {"status": "ready"}
