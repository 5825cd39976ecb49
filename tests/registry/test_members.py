"""Members: add, correct, remove, move between households (atomically)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from selaras_registry.documents import household_document
from selaras_registry.repository import HouseholdRepository

from .conftest import Tokens
from .factories import create, household, member


async def test_add_member_and_duplicate_nik(client: httpx.AsyncClient, tokens: Tokens) -> None:
    first = await create(client, tokens())
    url = f"/api/v1/households/{first['id']}/members"
    baby = member("Aisyah", "female", date(2025, 3, 14), "anak")
    added = await client.post(url, json=baby, headers={**tokens(), "If-Match": '"1"'})
    assert added.status_code == 201, added.text
    assert added.headers["etag"] == '"2"'
    assert [m["name"] for m in added.json()["members"]][-1] == "Aisyah"

    second = await create(client, tokens())
    duplicate = await client.post(
        f"/api/v1/households/{second['id']}/members", json=baby, headers=tokens()
    )
    assert duplicate.status_code == 409
    problem = duplicate.json()
    assert problem["household_id"] == first["id"]
    assert first["id"] in problem["detail"]
    assert problem["errors"][0]["field"] == "nik"


async def test_duplicate_nik_on_create_names_the_holder(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    first = await create(client, tokens())
    taken = {
        k: first["members"][0][k] for k in ("nik", "name", "sex", "birth_date", "relationship")
    }
    response = await client.post(
        "/api/v1/households", json=household(members=[taken]), headers=tokens()
    )
    assert response.status_code == 409
    assert response.json()["household_id"] == first["id"]
    assert response.json()["errors"][0]["field"] == "members.0.nik"


async def test_second_head_is_refused(client: httpx.AsyncClient, tokens: Tokens) -> None:
    created = await create(client, tokens())
    response = await client.post(
        f"/api/v1/households/{created['id']}/members",
        json=member("Baso", "male", date(1950, 1, 1), "kepala_keluarga"),
        headers=tokens(),
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "relationship"


async def test_stale_etag_on_member_add(client: httpx.AsyncClient, tokens: Tokens) -> None:
    created = await create(client, tokens())
    url = f"/api/v1/households/{created['id']}"
    assert (
        await client.patch(url, json={"desil": 1}, headers={**tokens(), "If-Match": '"1"'})
    ).status_code == 200
    response = await client.post(
        f"{url}/members",
        json=member("Late", "male", date(2001, 1, 1), "anak"),
        headers={**tokens(), "If-Match": '"1"'},
    )
    assert response.status_code == 412


async def test_update_member_rechecks_nik(client: httpx.AsyncClient, tokens: Tokens) -> None:
    created = await create(client, tokens())
    wife = created["members"][1]
    url = f"/api/v1/households/{created['id']}/members/{wife['id']}"
    # A birth date that no longer agrees with the NIK is refused, and nothing changes.
    bad = await client.patch(url, json={"birth_date": "1984-02-04"}, headers=tokens())
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "nik"
    fixed = await client.patch(
        url, json={"name": "Nurhayati", "occupation": "pedagang"}, headers=tokens()
    )
    assert fixed.status_code == 200, fixed.text
    updated = next(m for m in fixed.json()["members"] if m["id"] == wife["id"])
    assert updated["name"] == "Nurhayati" and updated["occupation"] == "pedagang"
    assert updated["birth_date"] == wife["birth_date"]


async def test_remove_member_with_reason(client: httpx.AsyncClient, tokens: Tokens) -> None:
    created = await create(client, tokens())
    child = created["members"][2]
    url = f"/api/v1/households/{created['id']}/members/{child['id']}/removal"
    removed = await client.post(url, json={"reason": "died"}, headers=tokens())
    assert removed.status_code == 200, removed.text
    assert child["id"] not in [m["id"] for m in removed.json()["members"]]
    again = await client.post(url, json={"reason": "died"}, headers=tokens())
    assert again.status_code == 404
    bad_reason = await client.post(
        f"/api/v1/households/{created['id']}/members/{created['members'][1]['id']}/removal",
        json={"reason": "vanished"},
        headers=tokens(),
    )
    assert bad_reason.status_code == 422
    assert bad_reason.json()["errors"][0]["field"] == "reason"


async def test_last_member_cannot_be_removed(client: httpx.AsyncClient, tokens: Tokens) -> None:
    created = await create(client, tokens(), members=[member()])
    response = await client.post(
        f"/api/v1/households/{created['id']}/members/{created['members'][0]['id']}/removal",
        json={"reason": "moved"},
        headers=tokens(),
    )
    assert response.status_code == 409


async def test_move_member_between_households(client: httpx.AsyncClient, tokens: Tokens) -> None:
    source = await create(client, tokens())
    target = await create(
        client, tokens(), members=[member("Hasanuddin", "male", date(1960, 7, 7))]
    )
    child = source["members"][2]
    moved = await client.post(
        f"/api/v1/households/{source['id']}/members/{child['id']}/move",
        json={"target_household_id": target["id"], "relationship": "cucu"},
        headers={**tokens(), "If-Match": '"1"'},
    )
    assert moved.status_code == 200, moved.text
    assert child["id"] not in [m["id"] for m in moved.json()["members"]]
    assert moved.headers["etag"] == '"2"'
    target_now = (await client.get(f"/api/v1/households/{target['id']}", headers=tokens())).json()
    moved_member = next(m for m in target_now["members"] if m["id"] == child["id"])
    assert moved_member["relationship"] == "cucu" and moved_member["nik"] == child["nik"]
    assert target_now["version"] == 2


async def test_failed_move_changes_neither_household(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    source = await create(client, tokens())
    target = await create(client, tokens())
    head = source["members"][0]
    # The target already has a head: the move must fail and leave both as they were.
    response = await client.post(
        f"/api/v1/households/{source['id']}/members/{head['id']}/move",
        json={"target_household_id": target["id"], "relationship": "kepala_keluarga"},
        headers=tokens(),
    )
    assert response.status_code == 409
    for original in (source, target):
        now = (await client.get(f"/api/v1/households/{original['id']}", headers=tokens())).json()
        assert now["version"] == 1
        assert [m["id"] for m in now["members"]] == [m["id"] for m in original["members"]]


async def test_move_to_unknown_or_same_household(client: httpx.AsyncClient, tokens: Tokens) -> None:
    source = await create(client, tokens())
    child = source["members"][2]
    url = f"/api/v1/households/{source['id']}/members/{child['id']}/move"
    unknown = await client.post(
        url,
        json={
            "target_household_id": "0b7f5d7e-3c1a-4f7e-9a51-6f0f3c2d9a19",
            "relationship": "anak",
        },
        headers=tokens(),
    )
    assert unknown.status_code == 404
    same = await client.post(
        url, json={"target_household_id": source["id"], "relationship": "anak"}, headers=tokens()
    )
    assert same.status_code == 422
    now = (await client.get(f"/api/v1/households/{source['id']}", headers=tokens())).json()
    assert now["version"] == 1


async def test_list_members(client: httpx.AsyncClient, tokens: Tokens) -> None:
    created = await create(client, tokens())
    response = await client.get(f"/api/v1/households/{created['id']}/members", headers=tokens())
    assert response.status_code == 200
    assert [m["id"] for m in response.json()] == [m["id"] for m in created["members"]]


async def test_read_serves_the_rows_after_every_kind_of_write(
    client: httpx.AsyncClient, tokens: Tokens, session: AsyncSession
) -> None:
    """GET serves the document the current version stored; after each kind of write it is
    the document built from the household and member rows themselves."""
    source = await create(client, tokens())
    target = await create(
        client, tokens(), members=[member("Hasanuddin", "male", date(1960, 7, 7))]
    )

    async def write(
        path: str, body: dict[str, Any], method: str = "POST", role: str = "front_office"
    ) -> None:
        household_id = path.split("/")[4]
        etag = (await client.get(f"/api/v1/households/{household_id}", headers=tokens())).headers[
            "etag"
        ]
        response = await client.request(
            method, path, json=body, headers={**tokens(role=role), "If-Match": etag}
        )
        assert response.status_code in (200, 201), response.text

    async def check(household_id: str) -> None:
        served = await client.get(f"/api/v1/households/{household_id}", headers=tokens())
        assert served.status_code == 200, served.text
        repository = HouseholdRepository(session)
        key = uuid.UUID(household_id)
        row = await repository.get(key)
        assert row is not None
        members = (await repository.active_members([key]))[key]
        built = household_document(row, members)
        assert served.json() == {**orjson.loads(orjson.dumps(built)), "masked": False}
        assert served.headers["etag"] == f'"{row.version}"'

    base = f"/api/v1/households/{source['id']}"
    await write(base, {"desil": 2, "address": "Jl. Poros Bantaeng No. 7"}, "PATCH")
    await check(source["id"])
    await write(f"{base}/members", member("Aisyah", "female", date(2025, 3, 14), "anak"))
    await check(source["id"])
    child = source["members"][1]
    await write(f"{base}/members/{child['id']}", {"education": "sma"}, "PATCH")
    await check(source["id"])
    await write(
        f"{base}/members/{source['members'][2]['id']}/move",
        {"target_household_id": target["id"], "relationship": "cucu"},
    )
    await check(source["id"])
    await check(target["id"])
    await write(f"{base}/members/{child['id']}/removal", {"reason": "moved"})
    await check(source["id"])
    await write(
        f"/api/v1/households/{target['id']}/deactivation", {"reason": "moved"}, role="manager"
    )
    await check(target["id"])
