"""Engines, sessions and column types on SQLite; liveness and readiness endpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    MetaData,
    Table,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.schema import CreateTable

from selaras_shared.db import (
    JSONVariant,
    UTCDateTime,
    code_string,
    is_sqlite,
    make_engine,
    make_sessionmaker,
    utcnow,
)

from .service import assert_problem, make_app, notes

METADATA = MetaData()
events = Table(
    "events",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime(), nullable=True),
)
parents = Table("parents", METADATA, Column("id", Integer, primary_key=True))
children = Table(
    "children",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("parent_id", Integer, ForeignKey("parents.id"), nullable=False),
)


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncEngine:
    async with engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    return engine


# ---- db ------------------------------------------------------------------------------------


async def test_utc_datetime_round_trip(db: AsyncEngine) -> None:
    jakarta = timezone(timedelta(hours=7))
    local = datetime(2025, 3, 14, 9, 30, 15, 123456, tzinfo=jakarta)
    utc = datetime(2025, 1, 1, 0, 0, tzinfo=UTC)
    async with db.begin() as connection:
        await connection.execute(
            insert(events), [{"id": 1, "at": local}, {"id": 2, "at": utc}, {"id": 3, "at": None}]
        )
    async with db.connect() as connection:
        rows = dict((await connection.execute(select(events.c.id, events.c.at))).all())
        raw = (await connection.execute(text("SELECT at FROM events WHERE id = 1"))).scalar_one()
    assert rows[1] == local
    assert rows[1].tzinfo == UTC
    assert rows[1] == datetime(2025, 3, 14, 2, 30, 15, 123456, tzinfo=UTC)
    assert rows[2] == utc and rows[2].tzinfo == UTC
    assert rows[3] is None
    # Stored as naive UTC, so that text comparison orders by instant.
    assert str(raw).startswith("2025-03-14 02:30:15")


async def test_utc_datetime_comparisons_use_the_instant(db: AsyncEngine) -> None:
    jakarta = timezone(timedelta(hours=7))
    async with db.begin() as connection:
        await connection.execute(
            insert(events),
            [
                {"id": 1, "at": datetime(2025, 1, 1, 6, 0, tzinfo=jakarta)},  # 23:00 UTC, Dec 31
                {"id": 2, "at": datetime(2025, 1, 1, 0, 30, tzinfo=UTC)},
            ],
        )
    boundary = datetime(2025, 1, 1, 7, 0, tzinfo=jakarta)  # 00:00 UTC
    async with db.connect() as connection:
        later = (await connection.execute(select(events.c.id).where(events.c.at >= boundary))).all()
    assert [row.id for row in later] == [2]


async def test_utc_datetime_rejects_naive(db: AsyncEngine) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        async with db.begin() as connection:
            await connection.execute(insert(events).values(id=1, at=datetime(2025, 1, 1, 12, 0)))
    async with db.connect() as connection:
        assert (await connection.execute(select(func.count()).select_from(events))).scalar() == 0


def test_utcnow_is_aware_utc() -> None:
    now = utcnow()
    assert now.tzinfo == UTC
    assert abs((datetime.now(UTC) - now).total_seconds()) < 5


async def test_sqlite_pragmas(db: AsyncEngine) -> None:
    async with db.connect() as connection:
        assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() == 30000


async def test_foreign_keys_are_enforced(db: AsyncEngine) -> None:
    with pytest.raises(IntegrityError):
        async with db.begin() as connection:
            await connection.execute(insert(children).values(id=1, parent_id=99))
    async with db.begin() as connection:
        await connection.execute(insert(parents).values(id=1))
        await connection.execute(insert(children).values(id=1, parent_id=1))
    with pytest.raises(IntegrityError):
        async with db.begin() as connection:
            await connection.execute(parents.delete().where(parents.c.id == 1))


async def test_rolled_back_transaction_leaves_nothing(db: AsyncEngine) -> None:
    sessionmaker = make_sessionmaker(db)
    async with sessionmaker() as session:
        await session.execute(insert(parents).values(id=5))
        await session.rollback()
    async with sessionmaker() as session, session.begin():
        await session.execute(insert(parents).values(id=6))
    async with db.connect() as connection:
        ids = (await connection.execute(select(parents.c.id))).scalars().all()
    assert ids == [6]


def test_is_sqlite() -> None:
    assert is_sqlite("sqlite+aiosqlite:///x.db")
    assert is_sqlite("sqlite:///:memory:")
    assert not is_sqlite("postgresql+asyncpg://u@h/db")


def test_column_variants() -> None:
    table = Table("t", MetaData(), Column("code", code_string(10)), Column("data", JSONVariant))
    pg_dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    on_postgres = str(CreateTable(table).compile(dialect=pg_dialect))
    on_sqlite = str(CreateTable(table).compile(dialect=sqlite.dialect()))
    assert 'VARCHAR(10) COLLATE "C"' in on_postgres and "JSONB" in on_postgres
    assert "COLLATE" not in on_sqlite and "JSONB" not in on_sqlite
    assert "VARCHAR(10)" in on_sqlite and "JSON" in on_sqlite


async def _note_texts(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return list((await connection.execute(select(notes.c.text))).scalars())


async def test_request_session_commits_on_success(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    response = await client.post("/api/v1/notes", json={"text": "kunjungan"})
    assert response.status_code == 201, response.text
    assert await _note_texts(engine) == ["kunjungan"]


async def test_request_session_rolls_back_on_error(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    response = await client.post("/api/v1/notes", json={"text": "lost", "fail": True})
    assert_problem(response, 409, "conflict")
    assert await _note_texts(engine) == []
    response = await client.post("/api/v1/notes", json={"text": "kept"})
    assert response.status_code == 201
    assert await _note_texts(engine) == ["kept"]


# ---- health --------------------------------------------------------------------------------


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_with_a_working_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_health_needs_no_token_and_is_not_under_the_api_prefix(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/healthz")).status_code == 200
    assert_problem(await client.get("/api/v1/healthz"), 404, "not-found")
    assert_problem(await client.get("/echo"), 404, "not-found")


async def test_readyz_503_when_the_database_is_unreachable(db_url: str) -> None:
    engine = make_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none", pool_size=1)
    try:
        app = make_app(db_url, engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/readyz", headers={"Accept-Language": "en"})
            body = assert_problem(response, 503, "upstream-unavailable")
            assert body["detail"] == "Database unreachable"
            assert body["request_id"] == response.headers["x-request-id"]
            # Liveness does not depend on the database.
            assert (await client.get("/healthz")).status_code == 200
    finally:
        await engine.dispose()


async def test_readyz_503_when_the_sqlite_file_cannot_be_opened(db_url: str) -> None:
    engine = make_engine("sqlite+aiosqlite:////nonexistent-dir/for/sure/x.db")
    try:
        app = make_app(db_url, engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/readyz")
            body = assert_problem(response, 503, "upstream-unavailable")
            assert body["detail"] == "Basis data tidak dapat dihubungi"
    finally:
        await engine.dispose()
