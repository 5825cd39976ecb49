"""Search: NIK, KK, name (case- and accent-insensitive prefix), region, desil, PPKS,
programme received, with cursor pagination."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from .conftest import Tokens
from .factories import OTHER_REGENCY_VILLAGE, create, member


async def _ids(client: httpx.AsyncClient, tokens: Tokens, **params: Any) -> set[str]:
    response = await client.get("/api/v1/households", params=params, headers=tokens())
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


async def test_search_filters(client: httpx.AsyncClient, tokens: Tokens) -> None:
    poor = await create(client, tokens(), desil=1, programs_received=["PKH"], ppks=[])
    middle = await create(
        client,
        tokens(),
        desil=5,
        programs_received=[],
        ppks=[],
        members=[
            member(
                "Élodie Daeng Bau",
                "female",
                date(1970, 4, 9),
                "kepala_keluarga",
                ppks=["perempuan_rawan_sosial_ekonomi"],
            )
        ],
    )
    palopo = await create(client, tokens(), village_code=OTHER_REGENCY_VILLAGE, desil=3)
    mine = {poor["id"], middle["id"], palopo["id"]}

    assert await _ids(client, tokens, nik=poor["members"][1]["nik"]) == {poor["id"]}
    assert await _ids(client, tokens, kk_number=middle["kk_number"]) == {middle["id"]}
    # Accent- and case-insensitive prefix of the full name or of any word in it.
    assert middle["id"] in await _ids(client, tokens, name="elodie")
    assert middle["id"] in await _ids(client, tokens, name="DAENG B")
    assert middle["id"] not in await _ids(client, tokens, name="odie")
    assert (await _ids(client, tokens, region="7373")) & mine == {palopo["id"]}
    assert (await _ids(client, tokens, desil_min=4, desil_max=6)) & mine == {middle["id"]}
    assert (await _ids(client, tokens, program="PKH")) & mine == {poor["id"], palopo["id"]}
    # Member-level PPKS count for the household.
    assert (await _ids(client, tokens, ppks="perempuan_rawan_sosial_ekonomi")) & mine == {
        middle["id"]
    }
    assert (await _ids(client, tokens, ppks="anak_dengan_kedisabilitasan")) & mine == {
        poor["id"],
        palopo["id"],
    }


async def test_cursor_pagination_visits_every_household_once(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    created = {(await create(client, tokens(), desil=9))["id"] for _ in range(7)}
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"desil_min": 9, "desil_max": 9, "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/households", params=params, headers=tokens())).json()
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert created <= set(seen)


async def test_search_bad_parameters(client: httpx.AsyncClient, tokens: Tokens) -> None:
    cases = [
        ({"region": "99"}, "region"),
        ({"region": "73a"}, "region"),
        ({"nik": "123"}, "nik"),
        ({"desil_min": 0}, "desil_min"),
        ({"desil_min": 5, "desil_max": 2}, "desil_min"),
        ({"ppks": "miskin"}, "ppks"),
        ({"limit": 1000}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"name": "a"}, "name"),
    ]
    for params, field in cases:
        response = await client.get("/api/v1/households", params=params, headers=tokens())
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == field, params


async def test_inactive_households_are_searchable_on_request(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    created = await create(client, tokens())
    await client.post(
        f"/api/v1/households/{created['id']}/deactivation",
        json={"reason": "moved"},
        headers=tokens("manager"),
    )
    assert created["id"] not in await _ids(client, tokens, kk_number=created["kk_number"])
    assert created["id"] in await _ids(
        client, tokens, kk_number=created["kk_number"], status="inactive"
    )
