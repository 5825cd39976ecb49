"""Referral migrations match the models and go down and up; events commit with their change."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from selaras_referral.cli import MIGRATIONS
from selaras_referral.events import emit
from selaras_referral.models import OutboxEvent, metadata
from tests.support import savepoint_sessions


async def test_models_match_migrations(referral_engine: AsyncEngine) -> None:
    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, metadata))

    async with referral_engine.connect() as connection:
        assert await connection.run_sync(diff) == []


async def test_migrations_go_down_and_up_again(databases: Any) -> None:
    url = await databases.new("referral_downgrade")
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.set_main_option("sqlalchemy.url", url)
    await asyncio.to_thread(command.upgrade, config, "head")
    await asyncio.to_thread(command.downgrade, config, "base")
    await asyncio.to_thread(command.upgrade, config, "head")


async def test_an_event_is_kept_or_dropped_with_its_transaction(
    connection: AsyncConnection, session: AsyncSession
) -> None:
    subject = uuid.uuid4()
    sessions = savepoint_sessions(connection)
    async with sessions() as writer:
        first = await emit(
            writer,
            type="referral.requested",
            subject_type="referral",
            subject_id=subject,
            region="7303012001",
            organization="baznas-7303",
            data={"status": "requested"},
        )
        await writer.commit()
    async with sessions() as failed:
        await emit(
            failed,
            type="referral.accepted",
            subject_type="referral",
            subject_id=subject,
            region="7303012001",
            data={},
        )
        await failed.rollback()

    events = (await session.scalars(select(OutboxEvent))).all()
    assert [(e.type, e.organization, e.data) for e in events] == [
        ("referral.requested", "baznas-7303", {"status": "requested"})
    ]
    assert events[0].id == first.id and events[0].seq is not None
