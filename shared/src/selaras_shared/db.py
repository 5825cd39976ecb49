"""Async engines and sessions for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import Request
from sqlalchemy import JSON, DateTime, String, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator


def is_sqlite(url: str) -> bool:
    """Whether `url` names an SQLite database."""
    return url.startswith("sqlite")


def make_engine(
    url: str, *, pool_size: int = 10, max_overflow: int = 0, pooled: bool = True
) -> AsyncEngine:
    """Create the engine for `url`, with the SQLite settings a concurrent server needs.

    On PostgreSQL the pool keeps `pool_size` connections and opens at most `max_overflow`
    more under load. Those are closed again as soon as they are given back, so a load
    that keeps exceeding the pool keeps opening connections, each several round trips and
    a server process: waiting for a pooled connection is cheaper (the default allows no
    overflow). With `pooled=False` every checkout opens a connection of its own and closes
    it at the end (for long work, such as an export, that must not hold pooled ones).
    """
    # JSON columns (documents, rule sets) are read with orjson: several times faster than
    # the standard library on the thousands of documents a change-feed page carries.
    if not is_sqlite(url):
        if not pooled:
            return create_async_engine(url, poolclass=NullPool, json_deserializer=orjson.loads)
        return create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_recycle=1800,
            json_deserializer=orjson.loads,
        )
    engine = create_async_engine(url, connect_args={"timeout": 30}, json_deserializer=orjson.loads)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred transaction that reads and then writes fails with SQLITE_BUSY when
        # another writer committed in between; taking the write lock up front makes
        # concurrent writers wait for each other instead. Read-only work (see
        # `read_only`) reads a WAL snapshot without waiting for writers.
        if connection.get_execution_options().get(_READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


_READ_ONLY = "selaras_read_only"


def read_only(engine: AsyncEngine) -> AsyncEngine:
    """The same engine for transactions that only read: on SQLite they take no write lock
    and so never wait behind a long writer (a bulk import); on PostgreSQL nothing changes."""
    return engine.execution_options(**{_READ_ONLY: True})


@asynccontextmanager
async def autocommit(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A pooled connection outside any transaction: each statement commits by itself (no
    BEGIN and COMMIT round trips, for work that is one statement)."""
    async with engine.connect() as connection:
        yield await connection.execution_options(isolation_level="AUTOCOMMIT")


def make_sessionmaker(bind: Any) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (no implicit lazy loads)."""
    return async_sessionmaker(bind, expire_on_commit=False, autoflush=False)


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One read-only session per request (see `read_only`); nothing is committed."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.read_sessionmaker
    async with sessionmaker() as session:
        yield session


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request: commit on success, roll back on error.

    Use with `Depends(get_session, scope="function")` so that the commit happens before
    the response is sent: a client never sees success for a write that did not commit.
    """
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


#: JSON on SQLite, JSONB on PostgreSQL.
JSONVariant = JSON().with_variant(JSONB(), "postgresql")


def code_string(length: int) -> String:
    """A string column compared byte-wise on PostgreSQL, so prefix ranges use the index."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")
