"""The change feed: order and cursors, region and jurisdiction, masking, access log, and
nothing missed or repeated while writers commit concurrently (out of order on PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
import uuid
from collections import defaultdict
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from selaras_registry.models import AccessLog, HouseholdVersion
from selaras_registry.schemas.changes import ChangePage
from selaras_shared.db import utcnow
from selaras_shared.pagination import encode_cursor
from tests.conftest import BACKEND

from .conftest import Tokens
from .factories import OTHER_REGENCY_VILLAGE, VILLAGE, create, member

FEED = "/api/v1/changes"


async def feed(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await client.get(FEED, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    # Served without a pass through the response model: it must be exactly what it gives.
    assert ChangePage.model_validate(body).model_dump(mode="json") == body
    return body


async def follow(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    since: str | None = None,
    *,
    expect: int | None = None,
    **params: Any,
) -> tuple[list[dict[str, Any]], str]:
    """Every change after `since`, page by page; with `expect`, keep polling until that
    many have come (on PostgreSQL a transaction elsewhere on the server can hold the feed
    back for a moment)."""
    items: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while True:
        page = await feed(client, headers, **params, **({"since": since} if since else {}))
        items += page["items"]
        since = page["next_cursor"]
        if page["has_more"]:
            continue
        if expect is None or len(items) >= expect or time.monotonic() > deadline:
            return items, since
        await asyncio.sleep(0.05)


async def patch(
    client: httpx.AsyncClient, headers: dict[str, str], household: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    response = await client.patch(
        f"/api/v1/households/{household['id']}",
        json=fields,
        headers={**headers, "If-Match": f'"{household["version"]}"'},
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def pairs(items: list[dict[str, Any]]) -> list[tuple[str, int, str]]:
    return [(item["household_id"], item["version"], item["change"]) for item in items]


async def test_feed_order_pages_and_polling(
    committed_client: httpx.AsyncClient, tokens: Tokens
) -> None:
    client, headers = committed_client, tokens()
    first = await create(client, headers)
    second = await create(client, headers)
    third = await create(client, headers)
    first = await patch(client, headers, first, desil=1)
    added = await client.post(
        f"/api/v1/households/{second['id']}/members",
        json=member("Siti Aminah", "female", date(2001, 1, 9), "anak"),
        headers=headers,
    )
    assert added.status_code == 201, added.text
    expected = [
        (first["id"], 1, "created"),
        (second["id"], 1, "created"),
        (third["id"], 1, "created"),
        (first["id"], 2, "updated"),
        (second["id"], 2, "member_added"),
    ]

    everything, end = await follow(client, headers, expect=5)
    assert pairs(everything) == expected

    # Two at a time: the same changes, each once, and has_more until the last page.
    seen: list[dict[str, Any]] = []
    since = None
    for _ in range(3):
        page = await feed(client, headers, limit=2, **({"since": since} if since else {}))
        seen += page["items"]
        since = page["next_cursor"]
        assert page["has_more"] is (len(seen) < 5)
    assert pairs(seen) == expected
    assert since == end

    # An item carries the household as of its version, and who changed it.
    update = everything[3]
    assert update["household"]["version"] == 2
    assert update["household"]["desil"] == 1
    assert update["household"]["masked"] is False
    assert update["actor_role"] == "front_office"
    assert update["source"] == "api"
    assert update["village_code"] == VILLAGE
    assert update["previous_village_code"] is None
    assert everything[4]["household"]["members"][-1]["name"] == "Siti Aminah"

    # Nothing new: the same cursor comes back; a later change follows it.
    polled = await feed(client, headers, since=end)
    assert polled == {"items": [], "next_cursor": end, "has_more": False}
    third = await patch(client, headers, third, desil=9)
    later, _ = await follow(client, headers, end, expect=1)
    assert pairs(later) == [(third["id"], 2, "updated")]
    # Without a cursor the feed starts from the beginning.
    assert len((await feed(client, headers, limit=200))["items"]) == 6


async def test_feed_region_sees_households_leave(
    committed_client: httpx.AsyncClient, tokens: Tokens
) -> None:
    client, headers = committed_client, tokens()
    bantaeng = await create(client, headers)
    palopo = await create(client, headers, village_code=OTHER_REGENCY_VILLAGE)
    items, bantaeng_cursor = await follow(client, headers, region="7303", expect=1)
    assert pairs(items) == [(bantaeng["id"], 1, "created")]
    items, palopo_cursor = await follow(client, headers, region="7373", expect=1)
    assert pairs(items) == [(palopo["id"], 1, "created")]
    village, _ = await follow(client, headers, region=VILLAGE, expect=1)
    assert pairs(village) == [(bantaeng["id"], 1, "created")]

    moved = await patch(client, headers, bantaeng, village_code=OTHER_REGENCY_VILLAGE)
    # The region it left sees it go, the region it joined sees it come.
    left, _ = await follow(client, headers, bantaeng_cursor, region="7303", expect=1)
    assert pairs(left) == [(moved["id"], 2, "updated")]
    assert left[0]["village_code"] == OTHER_REGENCY_VILLAGE
    assert left[0]["previous_village_code"] == VILLAGE
    assert left[0]["household"]["address"] == moved["address"]  # national: sees all
    joined, _ = await follow(client, headers, palopo_cursor, region="7373", expect=1)
    assert pairs(joined) == [(moved["id"], 2, "updated")]
    # An operator of the regency it left sees it leave, but not where it now lives.
    bantaeng_operator = tokens(jurisdiction="7303")
    gone, _ = await follow(client, bantaeng_operator, bantaeng_cursor, expect=1)
    assert pairs(gone) == [(moved["id"], 2, "updated")]
    assert gone[0]["household"] is None
    assert gone[0]["previous_village_code"] == VILLAGE


async def test_feed_jurisdiction(committed_client: httpx.AsyncClient, tokens: Tokens) -> None:
    client = committed_client
    await create(client, tokens())
    palopo = await create(client, tokens(), village_code=OTHER_REGENCY_VILLAGE)
    everything, _ = await follow(client, tokens(), expect=2)
    assert len(everything) == 2

    operator = tokens(jurisdiction="7373")
    # No region: the caller's jurisdiction; a wider region is narrowed to it.
    mine, _ = await follow(client, operator)
    assert pairs(mine) == [(palopo["id"], 1, "created")]
    wider, _ = await follow(client, operator, region="73")
    assert pairs(wider) == [(palopo["id"], 1, "created")]
    outside = await client.get(FEED, params={"region": "7303"}, headers=operator)
    assert outside.status_code == 403
    assert outside.json()["type"].endswith("forbidden")


async def test_feed_masked_for_partners_and_access_log(
    committed_client: httpx.AsyncClient, tokens: Tokens, registry_engine: AsyncEngine
) -> None:
    client = committed_client
    created = await create(client, tokens())
    await patch(client, tokens(), created, desil=4)

    partner = tokens("partner", jurisdiction="7303", sub="baznas", org="baznas-7303")
    items, _ = await follow(client, partner, expect=2)
    assert len(items) == 2
    household = items[0]["household"]
    assert household["masked"] is True
    assert household["kk_number"] == created["kk_number"][:6] + "*" * 10
    assert household["address"] == "***"
    assert household["members"][0]["nik"] == created["members"][0]["nik"][:6] + "*" * 10
    assert household["members"][0]["name"] == "A*** B***"
    assert household["members"][0]["birth_date"] is None

    reader = tokens(sub="screening-bot", role="service")
    items, _ = await follow(client, reader, expect=2)
    assert items[0]["household"]["kk_number"] == created["kk_number"]
    async with registry_engine.connect() as connection:
        rows = (
            await connection.execute(
                select(AccessLog.subject, AccessLog.household_id, AccessLog.action).where(
                    AccessLog.action == "feed"
                )
            )
        ).all()
    # One row per household served to the unmasked reader, none for the partner.
    assert [(s, str(h), a) for s, h, a in rows] == [("screening-bot", created["id"], "feed")]


async def test_feed_bad_parameters(committed_client: httpx.AsyncClient, tokens: Tokens) -> None:
    client, headers = committed_client, tokens()
    for since in (
        "not a cursor",
        encode_cursor({"id": 3}),
        encode_cursor({"txid": -1, "id": 3}),
        encode_cursor({"txid": "1", "id": 3}),
        encode_cursor({"txid": True, "id": 3}),
    ):
        response = await client.get(FEED, params={"since": since}, headers=headers)
        assert response.status_code == 422, since
        assert response.json()["errors"][0]["field"] == "since"
    for params in ({"region": "7"}, {"region": "9999"}, {"limit": 0}, {"limit": 5001}):
        response = await client.get(FEED, params=params, headers=headers)
        assert response.status_code == 422, params
        assert response.json()["errors"][0]["field"] == next(iter(params))
    assert (await client.get(FEED)).status_code == 401


async def test_feed_misses_nothing_under_concurrent_writers(
    committed_client: httpx.AsyncClient, tokens: Tokens, registry_engine: AsyncEngine
) -> None:
    client, headers = committed_client, tokens()
    writers, households_each, updates_each = 4, 4, 2
    done = asyncio.Event()

    async def write(worker: int) -> None:
        for _ in range(households_each):
            household = await create(client, headers)
            for step in range(updates_each):
                household = await patch(client, headers, household, desil=1 + (worker + step) % 10)

    collected: list[tuple[str, int]] = []

    async def read() -> None:
        since: str | None = None
        deadline = time.monotonic() + 60
        total = writers * households_each * (1 + updates_each)
        while time.monotonic() < deadline:
            finished = done.is_set()
            page = await feed(client, headers, limit=5, **({"since": since} if since else {}))
            collected.extend((i["household_id"], i["version"]) for i in page["items"])
            since = page["next_cursor"]
            if finished and not page["has_more"] and len(collected) >= total:
                return
            await asyncio.sleep(0 if page["has_more"] else 0.01)

    reader = asyncio.create_task(read())
    await asyncio.gather(*(write(worker) for worker in range(writers)))
    done.set()
    await asyncio.wait_for(reader, 90)

    async with registry_engine.connect() as connection:
        stored = {
            (str(h), v)
            for h, v in await connection.execute(
                select(HouseholdVersion.household_id, HouseholdVersion.version)
            )
        }
    assert len(stored) == writers * households_each * (1 + updates_each)
    assert len(collected) == len(set(collected)), "a change was served twice"
    assert set(collected) == stored, "a change was missed"
    versions: dict[str, list[int]] = defaultdict(list)
    for household_id, version in collected:
        versions[household_id].append(version)
    assert all(v == sorted(v) for v in versions.values())


async def test_feed_waits_for_earlier_transactions_to_commit(
    committed_client: httpx.AsyncClient,
    tokens: Tokens,
    registry_engine: AsyncEngine,
    registry_url: str,
) -> None:
    if BACKEND == "sqlite":
        # On SQLite the feed relies on writers never overlapping: a second writer cannot
        # even begin while the first is open, so row ids are in commit order.
        await _sqlite_writers_are_serialised(registry_engine, registry_url)
        return
    client, headers = committed_client, tokens()
    one = await create(client, headers)
    two = await create(client, headers)
    _, since = await follow(client, headers, expect=2)

    def version_of(household: dict[str, Any]) -> dict[str, Any]:
        document = {k: v for k, v in household.items() if k != "masked"}
        return {
            "household_id": uuid.UUID(household["id"]),
            "version": 2,
            "village_code": household["village_code"],
            "changed_at": utcnow(),
            "actor": "test",
            "actor_role": "manager",
            "source": "test",
            "change": "updated",
            "changes": {},
            "document": {**document, "version": 2},
        }

    async with registry_engine.connect() as a, registry_engine.connect() as b:
        # A takes the lower transaction id and row id, and stays open; B commits first.
        first = await a.begin()
        await a.execute(insert(HouseholdVersion).values(**version_of(one)))
        async with b.begin():
            await b.execute(insert(HouseholdVersion).values(**version_of(two)))
        for _ in range(3):
            held = await feed(client, headers, since=since)
            assert held == {"items": [], "next_cursor": since, "has_more": False}
            await asyncio.sleep(0.05)
        await first.commit()
    items, _ = await follow(client, headers, since, expect=2)
    assert pairs(items) == [(one["id"], 2, "updated"), (two["id"], 2, "updated")]


async def _sqlite_writers_are_serialised(engine: AsyncEngine, url: str) -> None:
    path = make_url(url).database
    assert path is not None

    def second_writer_begins() -> None:
        with contextlib.closing(sqlite3.connect(path, timeout=0.1)) as second:
            second.execute("BEGIN IMMEDIATE")

    async with engine.connect() as first:
        await first.begin()  # BEGIN IMMEDIATE: holds the write lock
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await asyncio.to_thread(second_writer_begins)
        await first.rollback()
    await asyncio.to_thread(second_writer_begins)  # free again once the first has ended
