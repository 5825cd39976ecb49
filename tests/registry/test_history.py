"""History: every change is versioned; a household can be read as of a time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx

from .conftest import Tokens
from .factories import household


async def test_history_lists_every_change(client: httpx.AsyncClient, tokens: Tokens) -> None:
    created = (
        await client.post("/api/v1/households", json=household(), headers=tokens(sub="fo-1"))
    ).json()
    url = f"/api/v1/households/{created['id']}"
    await client.patch(
        url,
        json={"desil": 1},
        headers={**tokens("manager", sub="mgr-1"), "If-Match": '"1"', "X-Change-Source": "verval"},
    )
    child = created["members"][2]
    await client.post(
        f"{url}/members/{child['id']}/removal", json={"reason": "died"}, headers=tokens()
    )

    response = await client.get(f"{url}/history", headers=tokens())
    assert response.status_code == 200
    items = response.json()["items"]
    assert [i["version"] for i in items] == [1, 2, 3]
    assert [i["change"] for i in items] == ["created", "updated", "member_removed"]
    assert items[0]["actor"] == "fo-1" and items[0]["source"] == "api"
    assert items[1]["actor"] == "mgr-1" and items[1]["actor_role"] == "manager"
    assert items[1]["source"] == "verval"
    assert items[1]["changes"] == {"desil": {"before": 2, "after": 1}}
    assert items[2]["reason"] == "died"
    assert items[2]["changes"][f"members.{child['id']}"]["after"] is None

    paged = (await client.get(f"{url}/history", params={"limit": 2}, headers=tokens())).json()
    assert [i["version"] for i in paged["items"]] == [1, 2]
    rest = (
        await client.get(
            f"{url}/history", params={"cursor": paged["next_cursor"]}, headers=tokens()
        )
    ).json()
    assert [i["version"] for i in rest["items"]] == [3]


async def test_read_as_of(client: httpx.AsyncClient, tokens: Tokens) -> None:
    before_creation = datetime.now(UTC)
    await asyncio.sleep(0.01)
    created = (
        await client.post("/api/v1/households", json=household(desil=4), headers=tokens())
    ).json()
    await asyncio.sleep(0.01)
    between = datetime.now(UTC)
    await asyncio.sleep(0.01)
    url = f"/api/v1/households/{created['id']}"
    await client.patch(url, json={"desil": 2}, headers={**tokens(), "If-Match": '"1"'})

    old = await client.get(url, params={"as_of": between.isoformat()}, headers=tokens())
    assert old.status_code == 200
    assert old.json()["desil"] == 4 and old.json()["version"] == 1
    assert old.headers["etag"] == '"1"'
    assert (await client.get(url, headers=tokens())).json()["desil"] == 2
    missing = await client.get(url, params={"as_of": before_creation.isoformat()}, headers=tokens())
    assert missing.status_code == 404
    naive = await client.get(url, params={"as_of": "2026-01-01T00:00:00"}, headers=tokens())
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "as_of"
