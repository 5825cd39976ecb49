"""Alembic environment: async engine, batch mode on SQLite, referral tables only."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from selaras_referral.models import metadata
from selaras_referral.settings import ReferralSettings
from selaras_shared.migrations import run_migrations


def _do_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


url = context.config.get_main_option("sqlalchemy.url") or ReferralSettings().database_url
asyncio.run(run_migrations(url, _do_run)) if context.config.attributes.get(
    "connection"
) is None else _do_run(context.config.attributes["connection"])
