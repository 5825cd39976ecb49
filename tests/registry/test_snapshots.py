"""Snapshot export: an Arrow IPC stream of a region's households and members, with the
change-feed cursor it corresponds to; masking, jurisdiction, the access log, both export
paths agreeing, and the transaction ending however the stream ends."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from fastapi import Request
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from selaras_registry.api.snapshots import get_snapshot_service
from selaras_registry.app import create_app
from selaras_registry.models import AccessLog
from selaras_registry.repository.changes import BlockRange, SnapshotRepository
from selaras_registry.service import Caller, changes
from selaras_registry.service.changes import CHANGED_SCHEMA, SNAPSHOT_SCHEMA, open_snapshot
from selaras_registry.settings import RegistrySettings
from selaras_shared.auth import Principal, Role
from selaras_shared.db import make_sessionmaker, read_only
from selaras_shared.pagination import encode_cursor
from tests.conftest import BACKEND
from tests.support import AUTH

from .conftest import Tokens, _app
from .factories import OTHER_REGENCY_VILLAGE, VILLAGE, create, household, member
from .test_changes import follow, patch

SNAPSHOTS = "/api/v1/snapshots"
ARROW = "application/vnd.apache.arrow.stream"


def read_stream(content: bytes) -> tuple[pa.Table, dict[str, str]]:
    reader = pa.ipc.open_stream(content)
    metadata = {k.decode(): v.decode() for k, v in (reader.schema.metadata or {}).items()}
    return reader.read_all(), metadata


async def export(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> tuple[dict[str, dict[str, Any]], dict[str, str], httpx.Response]:
    response = await client.get(SNAPSHOTS, params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == ARROW
    table, metadata = read_stream(response.content)
    assert table.schema.equals(SNAPSHOT_SCHEMA)
    assert metadata["selaras.cursor"] == response.headers["x-change-cursor"]
    rows = {row["id"]: row for row in table.to_pylist()}
    assert len(rows) == table.num_rows
    return rows, metadata, response


async def _deactivate(
    client: httpx.AsyncClient, tokens: Tokens, household: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/households/{household['id']}/deactivation",
        json={"reason": "moved"},
        headers=tokens("manager"),
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _same_household(row: dict[str, Any], served: dict[str, Any]) -> None:
    """A snapshot row agrees field by field with the household as the API serves it."""
    housing = served["housing"]
    assert row["kk_number"] == served["kk_number"]
    assert row["address"] == served["address"]
    for key in ("rt", "rw", "village_code", "desil", "registry_status", "monthly_income"):
        assert row[key] == served[key], key
    for key in ("floor", "wall", "roof", "toilet", "water", "electricity_va", "land_ownership"):
        assert row[f"housing_{key}"] == housing.get(key), key
    assert row["programs_received"] == served["programs_received"]
    assert row["ppks"] == served["ppks"]
    assert row["data_source"] == served["data_source"]
    verified = served["verified_on"]
    assert row["verified_on"] == (date.fromisoformat(verified) if verified else None)
    assert row["version"] == served["version"]
    assert row["updated_at"] == datetime.fromisoformat(served["updated_at"]).astimezone(UTC)
    assert [m["id"] for m in row["members"]] == [m["id"] for m in served["members"]]
    positions = [m["position"] for m in row["members"]]
    assert positions == sorted(positions)
    for got, want in zip(row["members"], served["members"], strict=True):
        for key in (
            "nik",
            "name",
            "sex",
            "relationship",
            "marital_status",
            "education",
            "in_school",
            "occupation",
            "chronic_illness",
            "pregnant",
            "ppks",
        ):
            assert got[key] == want[key], key
        assert got["birth_date"] == date.fromisoformat(want["birth_date"])
        disability = want["disability"] or {}
        assert got["disability_type"] == disability.get("type")
        assert got["disability_severity"] == disability.get("severity")


async def test_snapshot_content_equals_the_registry(
    committed_client: httpx.AsyncClient, tokens: Tokens
) -> None:
    client, headers = committed_client, tokens()
    plain = await create(client, headers)
    sparse = await create(
        client,
        headers,
        rt=None,
        rw=None,
        desil=None,
        monthly_income=None,
        verified_on=None,
        programs_received=[],
        ppks=[],
        housing={},
        address='Jl. "Poros", No. 7\nDusun Bonto',
        members=[member('Ínès, "Daeng" Ngai', "female", date(1990, 3, 1), "kepala_keluarga")],
    )
    palopo = await create(client, headers, village_code=OTHER_REGENCY_VILLAGE)
    gone = await create(client, headers)
    await _deactivate(client, tokens, gone)
    # Members in family-card order, without the one taken off.
    changed = await create(client, headers)
    removed = changed["members"][1]["id"]
    response = await client.post(
        f"/api/v1/households/{changed['id']}/members/{removed}/removal",
        json={"reason": "died"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    response = await client.post(
        f"/api/v1/households/{changed['id']}/members",
        json=member(
            "Rahmat Hidayat", "male", date(2019, 7, 2), "anak", ppks=["anak_balita_terlantar"]
        ),
        headers=headers,
    )
    assert response.status_code == 201, response.text
    changed = response.json()

    rows, metadata, response = await export(client, headers)
    assert set(rows) == {plain["id"], sparse["id"], palopo["id"], changed["id"]}
    assert metadata["selaras.masked"] == "false"
    assert metadata["selaras.region"] == ""
    assert metadata["selaras.households"] == "4"
    assert datetime.fromisoformat(metadata["selaras.generated_at"]).tzinfo is not None
    for served in (plain, sparse, palopo, changed):
        current = (await client.get(f"/api/v1/households/{served['id']}", headers=headers)).json()
        _same_household(rows[served["id"]], current)
    assert [m["name"] for m in rows[changed["id"]]["members"]] == [
        "Andi Baso",
        "Muhammad Rafli",
        "Rahmat Hidayat",
    ]
    assert rows[changed["id"]]["members"][-1]["ppks"] == ["anak_balita_terlantar"]
    assert rows[sparse["id"]]["programs_received"] == []
    assert rows[sparse["id"]]["housing_floor"] is None


async def test_snapshot_region_and_jurisdiction(
    committed_client: httpx.AsyncClient, tokens: Tokens
) -> None:
    client = committed_client
    bantaeng = await create(client, tokens())
    palopo = await create(client, tokens(), village_code=OTHER_REGENCY_VILLAGE)

    rows, metadata, _ = await export(client, tokens(), region="7373")
    assert set(rows) == {palopo["id"]}
    assert metadata["selaras.region"] == "7373"
    rows, _, _ = await export(client, tokens(), region=bantaeng["village_code"])
    assert set(rows) == {bantaeng["id"]}
    # A region with no households is an empty stream, schema and cursor included.
    rows, metadata, _ = await export(client, tokens(), region="12")
    assert rows == {}
    assert metadata["selaras.households"] == "0"

    operator = tokens(jurisdiction="7373")
    rows, metadata, _ = await export(client, operator)
    assert set(rows) == {palopo["id"]}
    assert metadata["selaras.region"] == "7373"
    rows, metadata, _ = await export(client, operator, region="73")
    assert set(rows) == {palopo["id"]}
    assert metadata["selaras.region"] == "7373"
    outside = await client.get(SNAPSHOTS, params={"region": "7303"}, headers=operator)
    assert outside.status_code == 403

    for region in ("7", "99", "123", "7303999999"):
        response = await client.get(SNAPSHOTS, params={"region": region}, headers=tokens())
        assert response.status_code == 422, region
        assert response.json()["errors"][0]["field"] == "region"
    assert (await client.get(SNAPSHOTS)).status_code == 401


async def test_snapshot_masked_and_access_log(
    committed_client: httpx.AsyncClient, tokens: Tokens, registry_engine: AsyncEngine
) -> None:
    client = committed_client
    created = await create(client, tokens())
    await create(client, tokens(), village_code=OTHER_REGENCY_VILLAGE)

    partner = tokens("partner", jurisdiction="7303", sub="baznas", org="baznas-7303")
    rows, metadata, _ = await export(client, partner)
    assert metadata["selaras.masked"] == "true"
    row = rows[created["id"]]
    assert row["kk_number"] is None
    assert row["address"] is None
    assert row["village_code"] == created["village_code"]
    assert row["members"][0]["nik"] is None
    assert row["members"][0]["name"] is None
    assert row["members"][0]["birth_date"] is None
    assert row["members"][0]["sex"] == "male"
    assert row["members"][2]["disability_type"] == "sensorik_rungu"

    screening = tokens("service", sub="screening-bot", org="dinsos")
    rows, _, _ = await export(client, screening, region="73")
    assert len(rows) == 2
    async with registry_engine.connect() as connection:
        logged = (
            await connection.execute(
                select(
                    AccessLog.subject,
                    AccessLog.household_id,
                    AccessLog.region,
                    AccessLog.records,
                    AccessLog.action,
                    AccessLog.organization,
                )
            )
        ).all()
    # Household creation logs nothing; the partner's masked export neither.
    assert [tuple(row) for row in logged] == [
        ("screening-bot", None, "73", 2, "snapshot", "dinsos")
    ]


async def test_snapshot_cursor_then_feed_gives_exactly_the_later_changes(
    committed_client: httpx.AsyncClient, tokens: Tokens
) -> None:
    client, headers = committed_client, tokens()
    first = await create(client, headers)
    second = await create(client, headers)
    rows, _, response = await export(client, headers)
    cursor = response.headers["x-change-cursor"]
    assert set(rows) == {first["id"], second["id"]}

    first = await patch(client, headers, first, desil=7)
    third = await create(client, headers)
    await _deactivate(client, tokens, second)
    later = {(first["id"], 2), (third["id"], 1), (second["id"], 2)}

    # Follow the feed from the snapshot's cursor, skipping what the snapshot already has
    # (on PostgreSQL a transaction elsewhere on the server may hold the feed back a moment).
    new: list[tuple[str, int]] = []
    deadline = time.monotonic() + 30
    while len(new) < len(later) and time.monotonic() < deadline:
        items, cursor = await follow(client, headers, cursor)
        new += [
            (i["household_id"], i["version"])
            for i in items
            if i["household_id"] not in rows or i["version"] > rows[i["household_id"]]["version"]
        ]
        await asyncio.sleep(0.05)
    assert sorted(new) == sorted(later)


def _applied(before: pa.Table, changed: pa.Table) -> pa.Table:
    """A snapshot with the changes since its cursor applied: the rows of every changed
    household replaced by the present ones, in id order."""
    assert changed.schema.equals(CHANGED_SCHEMA)
    gone = pc.is_in(before.column("id"), value_set=changed.column("id"))
    present = changed.filter(changed.column("present")).drop_columns(["present"])
    return pa.concat_tables([before.filter(pc.invert(gone)), present]).sort_by("id")


async def _changed(
    client: httpx.AsyncClient, headers: dict[str, str], since: str, **params: Any
) -> tuple[pa.Table, dict[str, str], httpx.Response]:
    response = await client.get(SNAPSHOTS, params={"since": since, **params}, headers=headers)
    assert response.status_code == 200, response.text
    table, metadata = read_stream(response.content)
    assert metadata["selaras.cursor"] == response.headers["x-change-cursor"]
    return table, metadata, response


async def test_snapshot_since_a_cursor_holds_what_changed(
    committed_client: httpx.AsyncClient, tokens: Tokens, registry_engine: AsyncEngine
) -> None:
    client, headers = committed_client, tokens()
    kept = await create(client, headers)
    edited = await create(client, headers)
    gone = await create(client, headers)
    leaving = await create(client, headers)
    joining = await create(client, headers, village_code=OTHER_REGENCY_VILLAGE)
    grown = await create(client, headers)
    response = await client.get(SNAPSHOTS, params={"region": "7303"}, headers=headers)
    before, _ = read_stream(response.content)
    cursor = response.headers["x-change-cursor"]
    assert set(before.column("id").to_pylist()) == {
        h["id"] for h in (kept, edited, gone, leaving, grown)
    }

    await patch(client, headers, edited, desil=9)
    await _deactivate(client, tokens, gone)
    await patch(client, headers, leaving, village_code=OTHER_REGENCY_VILLAGE)
    await patch(client, headers, joining, village_code=VILLAGE)
    response = await client.post(
        f"/api/v1/households/{grown['id']}/members",
        json=member("Rahmat Hidayat", "male", date(2019, 7, 2), "anak"),
        headers=headers,
    )
    assert response.status_code == 201, response.text
    new = await create(client, headers)
    await create(client, headers, village_code=OTHER_REGENCY_VILLAGE)  # elsewhere

    changed, metadata, response = await _changed(client, headers, cursor, region="7303")
    rows = {row["id"]: row for row in changed.to_pylist()}
    present = {i for i, row in rows.items() if row["present"]}
    removed = {i for i, row in rows.items() if not row["present"]}
    # On PostgreSQL a transaction elsewhere on the server can hold a cursor back: what
    # came just before it may be served again (unchanged), never anything missed.
    assert {edited["id"], joining["id"], grown["id"], new["id"]} <= present
    assert removed == {gone["id"], leaving["id"]}
    assert present <= {kept["id"], edited["id"], joining["id"], grown["id"], new["id"]}
    for left in removed:
        assert all(v is None for k, v in rows[left].items() if k not in ("id", "present"))
    assert rows[edited["id"]]["desil"] == 9
    assert len(rows[grown["id"]]["members"]) == 4
    assert metadata["selaras.households"] == str(len(present))
    assert metadata["selaras.removed"] == "2"
    assert metadata["selaras.region"] == "7303"
    assert metadata["selaras.masked"] == "false"
    assert "selaras.since" in metadata

    # Applied to the first snapshot, they give the snapshot of now, at the new cursor.
    now, _, _ = await export(client, headers, region="7303")
    expected = pa.Table.from_pylist(sorted(now.values(), key=lambda r: r["id"]), SNAPSHOT_SCHEMA)
    assert _applied(before, changed).equals(expected)
    # From the new cursor nothing changed: applying what is served changes nothing.
    later, _, _ = await _changed(
        client, headers, response.headers["x-change-cursor"], region="7303"
    )
    assert not pc.any(pc.invert(later.column("present"))).as_py()
    assert _applied(expected, later).equals(expected)

    # Masked for a partner; read like a snapshot in the access log.
    partner = tokens("partner", jurisdiction="7303", sub="baznas", org="baznas-7303")
    masked, metadata, _ = await _changed(client, partner, cursor)
    assert metadata["selaras.masked"] == "true"
    assert set(masked.column("id").to_pylist()) == set(rows)
    edited_row = next(r for r in masked.to_pylist() if r["id"] == edited["id"])
    assert edited_row["kk_number"] is None
    assert edited_row["members"][0]["nik"] is None
    assert edited_row["members"][0]["birth_date"] is None
    async with registry_engine.connect() as connection:
        logged = (
            await connection.execute(
                select(AccessLog.subject, AccessLog.region, AccessLog.records, AccessLog.action)
            )
        ).all()
    assert ("operator-1", "7303", len(present), "snapshot") in [tuple(row) for row in logged]
    assert not [row for row in logged if row[0] == "baznas"]


async def test_snapshot_since_bad_cursor_and_jurisdiction(
    committed_client: httpx.AsyncClient, tokens: Tokens
) -> None:
    client = committed_client
    for since in ("not a cursor", encode_cursor({"id": 3}), encode_cursor({"txid": -1, "id": 3})):
        response = await client.get(SNAPSHOTS, params={"since": since}, headers=tokens())
        assert response.status_code == 422, since
        assert response.json()["errors"][0]["field"] == "since"
    since = encode_cursor({"txid": 0, "id": 0})
    operator = tokens(jurisdiction="7373")
    outside = await client.get(
        SNAPSHOTS, params={"region": "7303", "since": since}, headers=operator
    )
    assert outside.status_code == 403


@pytest.mark.parametrize("masked", [False, True])
async def test_export_paths_agree(
    committed_client: httpx.AsyncClient,
    tokens: Tokens,
    registry_engine: AsyncEngine,
    masked: bool,
) -> None:
    client, headers = committed_client, tokens()
    payloads = [
        household(),
        household(rt=None, desil=None, programs_received=[], ppks=[], housing={}),
        household(address='Gg. "Mawar", No. 3\nRT 2', monthly_income=None, verified_on=None),
        household(village_code=OTHER_REGENCY_VILLAGE, programs_received=["PKH", "PBI_JKN"]),
        household(members=[member("Ni Wayan Sari", "female", date(1975, 12, 31), occupation="")]),
    ]
    for payload in payloads:
        response = await client.post("/api/v1/households", json=payload, headers=headers)
        assert response.status_code == 201, response.text

    async def read(method: Any, batch_size: int) -> pa.Table:
        snapshot = await open_snapshot(
            registry_engine, region="", masked=masked, method=method, batch_size=batch_size
        )
        content = b"".join([chunk async for chunk in snapshot.stream()])
        table, metadata = read_stream(content)
        assert metadata["selaras.cursor"] == snapshot.cursor
        return table.sort_by("id")

    expected = await read("rows", 2)
    assert expected.num_rows == 5
    assert expected.equals(await read("rows", 100))
    if BACKEND == "postgres":  # the COPY paths, in several batches and in one
        for method in ("keys", "blocks", "auto"):
            for batch_size in (2, 100):
                got = await read(method, batch_size)
                assert got.to_pylist() == expected.to_pylist(), (method, batch_size)
                assert got.equals(expected)

    # The changes since the start (every household, one of them gone) agree too.
    gone = expected.column("id")[0].as_py()
    await _deactivate(client, tokens, {"id": gone})
    start = encode_cursor({"txid": 0, "id": 0})

    async def changed(method: Any, batch_size: int) -> pa.Table:
        snapshot = await open_snapshot(
            registry_engine,
            region="",
            masked=masked,
            method=method,
            batch_size=batch_size,
            since=start,
        )
        content = b"".join([chunk async for chunk in snapshot.stream()])
        return read_stream(content)[0].sort_by("id")

    everything = await changed("rows", 2)
    assert everything.schema.equals(CHANGED_SCHEMA)
    assert everything.num_rows == 5
    assert everything.filter(pc.invert(everything.column("present"))).column("id").to_pylist() == [
        gone
    ]
    present = everything.filter(everything.column("present")).drop_columns(["present"])
    assert present.equals(expected.filter(pc.not_equal(expected.column("id"), gone)))
    assert everything.equals(await changed("rows", 100))
    if BACKEND == "postgres":
        for batch_size in (2, 100):
            assert (await changed("keys", batch_size)).equals(everything), batch_size


async def _open_transactions(engine: AsyncEngine) -> int:
    """Connections of this database in a transaction, other than the one asking."""
    if BACKEND != "postgres":
        return 0
    async with engine.connect() as connection:
        count = await connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
            )
        )
    return int(count or 0)


async def _settled(engine: AsyncEngine) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if engine.pool.checkedout() == 0 and await _open_transactions(engine) == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("an export left a connection or a transaction open")


def test_openapi_documents_feed_and_export() -> None:
    paths = create_app().openapi()["paths"]
    assert "since" in {p["name"] for p in paths["/api/v1/changes"]["get"]["parameters"]}
    assert "since" in {p["name"] for p in paths["/api/v1/snapshots"]["get"]["parameters"]}
    ok = paths["/api/v1/snapshots"]["get"]["responses"]["200"]
    assert ARROW in ok["content"]
    assert "X-Change-Cursor" in ok["headers"]


def test_block_ranges_cover_the_table() -> None:
    assert SnapshotRepository.block_ranges(10, 25, 10) == [
        BlockRange(0, 4),
        BlockRange(4, 8),
        BlockRange(8, None),
    ]
    assert SnapshotRepository.block_ranges(1, 5, 2) == [BlockRange(0, None)]
    assert SnapshotRepository.block_ranges(0, 1, 10) == [BlockRange(0, None)]
    assert SnapshotRepository.block_ranges(100, 0, 10) == []


#: Several batches read on several connections where there are any.
MANY_BATCHES = "keys" if BACKEND == "postgres" else "rows"


async def test_abandoned_export_ends_its_transaction(
    committed_client: httpx.AsyncClient, tokens: Tokens, registry_engine: AsyncEngine
) -> None:
    for _ in range(4):
        await create(committed_client, tokens())
    await _settled(registry_engine)

    # Read one chunk, then stop.
    snapshot = await open_snapshot(
        registry_engine, region="", masked=False, batch_size=1, method=MANY_BATCHES
    )
    stream = snapshot.stream()
    assert await anext(stream)
    await stream.aclose()  # type: ignore[attr-defined]
    await _settled(registry_engine)

    # Cancelled while reading.
    snapshot = await open_snapshot(
        registry_engine, region="", masked=False, batch_size=1, method=MANY_BATCHES
    )

    async def consume() -> None:
        async for _ in snapshot.stream():
            await asyncio.sleep(10)

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _settled(registry_engine)

    # Never read at all.
    snapshot = await open_snapshot(registry_engine, region="", masked=False)
    await snapshot.aclose()
    await _settled(registry_engine)


# The COPY path exists only on PostgreSQL; on SQLite there is no COPY to stop.
if BACKEND == "postgres":

    async def test_export_stopped_mid_copy_ends_its_transaction(
        committed_client: httpx.AsyncClient,
        tokens: Tokens,
        registry_engine: AsyncEngine,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        for _ in range(6):
            await create(committed_client, tokens())
        await _settled(registry_engine)
        member_copy = changes.member_copy
        calls = 0

        def flooding(*args: Any, **kwargs: Any) -> tuple[str, tuple[Any, ...]]:
            # The first batch as it is; the others go on and on, a stream of rows in flight.
            nonlocal calls
            calls += 1
            sql, arguments = member_copy(*args, **kwargs)
            if calls > 1:
                sql = sql.replace(
                    " FROM household h", " FROM generate_series(1, 100000), household h"
                )
            return sql, arguments

        monkeypatch.setattr(changes, "member_copy", flooding)
        for pause in (0.0, 0.01, 0.05):
            calls = 0
            snapshot = await open_snapshot(
                registry_engine, region="", masked=False, batch_size=1, method="keys"
            )
            stream = snapshot.stream()
            assert await anext(stream)
            await asyncio.sleep(pause)  # the next batches' rows are on their way
            await stream.aclose()  # type: ignore[attr-defined]
            await _settled(registry_engine)


async def test_failing_export_ends_its_transaction_and_says_why(
    committed_client: httpx.AsyncClient,
    tokens: Tokens,
    registry_engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for _ in range(6):
        await create(committed_client, tokens())
    await _settled(registry_engine)
    name = "batch_from_csv" if MANY_BATCHES == "keys" else "batch_from_rows"
    build = getattr(changes, name)
    built = 0

    def fail_on_second(*args: Any) -> Any:
        nonlocal built
        built += 1
        if built == 2:
            raise RuntimeError("parse failed")
        return build(*args)

    monkeypatch.setattr(changes, name, fail_on_second)
    snapshot = await open_snapshot(
        registry_engine, region="", masked=False, batch_size=1, method=MANY_BATCHES
    )
    with pytest.raises(RuntimeError, match="parse failed"):
        async for _ in snapshot.stream():
            await asyncio.sleep(0.05)  # the next batches are being read meanwhile
    await _settled(registry_engine)


async def test_client_gone_mid_stream_ends_the_transaction(
    committed_client: httpx.AsyncClient,
    tokens: Tokens,
    registry_url: str,
    registry_engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for _ in range(3):
        await create(committed_client, tokens())
    await _settled(registry_engine)
    app = _app(
        registry_url,
        registry_engine,
        make_sessionmaker(registry_engine),
        make_sessionmaker(read_only(registry_engine)),
    )
    sent: list[dict[str, Any]] = []
    first_body = asyncio.Event()
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await first_body.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and message.get("body"):
            first_body.set()
            await asyncio.sleep(0.1)  # a slow client: the disconnect comes first

    authorization = tokens()["Authorization"].encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": SNAPSHOTS,
        "raw_path": SNAPSHOTS.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"registry"), (b"authorization", authorization)],
        "client": ("127.0.0.1", 1234),
        "server": ("registry", 80),
        "state": {},
    }
    # One household per batch (read through the index on PostgreSQL, on two connections),
    # so that the stream has several chunks.
    monkeypatch.setattr(changes, "_PAGES_PER_HOUSEHOLD", 0)
    monkeypatch.setattr(changes, "COPY_BATCH", 1)
    monkeypatch.setattr(changes, "ROWS_BATCH", 1)
    await app(scope, receive, send)
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 200
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert bodies and not any(m.get("more_body") is False for m in bodies), "stream completed"
    await _settled(registry_engine)


async def test_the_app_exports_on_connections_of_their_own(
    committed_client: httpx.AsyncClient,
    tokens: Tokens,
    registry_url: str,
    registry_engine: AsyncEngine,
) -> None:
    """The running app (its lifespan, as deployed) streams exports on an engine of their own
    on PostgreSQL, unpooled, so a long export never holds a pooled connection that other
    requests wait for; on SQLite, on the app's engine. Both end with nothing left open."""
    created = [await create(committed_client, tokens()) for _ in range(3)]
    app = create_app(
        RegistrySettings(database_url=registry_url, import_runner=False, db_pool_size=1), AUTH
    )
    caller = Caller(
        principal=Principal(subject="bo", role=Role.back_office, jurisdiction=""),
        source="api",
        purpose=None,
        request_id=None,
    )
    async with app.router.lifespan_context(app):
        exports: AsyncEngine = app.state.export_engine
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
            whole = await client.get(SNAPSHOTS, headers=tokens("back_office"))
            assert whole.status_code == 200
            service = await get_snapshot_service(Request({"type": "http", "app": app}), caller)
            assert service.engine is exports
            if BACKEND == "postgres":
                assert exports is not app.state.engine
                assert isinstance(exports.pool, NullPool)
                # An export holds its connections until it is read to the end; meanwhile
                # the app's one pooled connection is free for a read.
                export = await service.open(None)
                try:
                    assert app.state.engine.pool.checkedout() == 0
                    read = await client.get(
                        f"/api/v1/households/{created[0]['id']}", headers=tokens()
                    )
                    assert read.status_code == 200
                    content = b"".join([chunk async for chunk in export.stream()])
                finally:
                    await export.aclose()
                assert read_stream(content)[0].num_rows == len(created)
            else:
                assert exports is app.state.engine
        rows = read_stream(whole.content)[0].to_pylist()
        assert sorted(row["id"] for row in rows) == sorted(h["id"] for h in created)
        assert app.state.engine.pool.checkedout() == 0
    await _settled(registry_engine)
