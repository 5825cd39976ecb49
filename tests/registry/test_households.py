"""Households: create, read, update with If-Match, deactivate."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from selaras_registry.models import Household, HouseholdVersion, Member

from .conftest import Tokens
from .factories import household, member


async def test_create_and_read_household(client: httpx.AsyncClient, tokens: Tokens) -> None:
    payload = household()
    created = await client.post("/api/v1/households", json=payload, headers=tokens())
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["etag"] == '"1"'
    assert created.headers["location"] == f"/api/v1/households/{body['id']}"
    assert body["kk_number"] == payload["kk_number"]
    assert [m["nik"] for m in body["members"]] == [m["nik"] for m in payload["members"]]
    assert body["members"][2]["disability"] == {"type": "sensorik_rungu", "severity": "sedang"}
    assert body["masked"] is False and body["version"] == 1 and body["status"] == "active"

    read = await client.get(f"/api/v1/households/{body['id']}", headers=tokens())
    assert read.status_code == 200
    assert read.headers["etag"] == '"1"'
    assert read.json() == body


async def test_update_requires_matching_etag(client: httpx.AsyncClient, tokens: Tokens) -> None:
    created = (await client.post("/api/v1/households", json=household(), headers=tokens())).json()
    url = f"/api/v1/households/{created['id']}"

    missing = await client.patch(url, json={"desil": 3}, headers=tokens())
    assert missing.status_code == 428
    assert missing.headers["content-type"] == "application/problem+json"

    updated = await client.patch(
        url,
        json={"desil": 3, "housing": {"floor": "semen"}, "verified_on": "2026-10-01"},
        headers={**tokens(), "If-Match": '"1"'},
    )
    assert updated.status_code == 200, updated.text
    assert updated.headers["etag"] == '"2"'
    assert updated.json()["desil"] == 3
    assert updated.json()["verified_on"] == "2026-10-01"
    # Housing is merged, not replaced.
    assert updated.json()["housing"]["floor"] == "semen"
    assert updated.json()["housing"]["wall"] == "bambu"

    stale = await client.patch(url, json={"desil": 4}, headers={**tokens(), "If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.headers["etag"] == '"2"'
    assert (await client.get(url, headers=tokens())).json()["desil"] == 3


async def test_concurrent_updates_with_same_etag_exactly_one_wins(
    committed_client: httpx.AsyncClient, tokens: Tokens
) -> None:
    created = (
        await committed_client.post("/api/v1/households", json=household(), headers=tokens())
    ).json()
    url = f"/api/v1/households/{created['id']}"
    headers = {**tokens(), "If-Match": '"1"'}
    responses = await asyncio.gather(
        *(
            committed_client.patch(url, json={"monthly_income": 1000 * i}, headers=headers)
            for i in range(1, 7)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 412, 412, 412, 412, 412]
    winner = next(r for r in responses if r.status_code == 200).json()
    current = (await committed_client.get(url, headers=tokens())).json()
    assert current["version"] == 2
    assert current["monthly_income"] == winner["monthly_income"]


async def test_update_rejects_null_for_required_field(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    created = (await client.post("/api/v1/households", json=household(), headers=tokens())).json()
    response = await client.patch(
        f"/api/v1/households/{created['id']}",
        json={"address": None},
        headers={**tokens(), "If-Match": '"1"'},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "address"


async def test_deactivate_household_keeps_records(
    client: httpx.AsyncClient, tokens: Tokens, session: AsyncSession
) -> None:
    created = (await client.post("/api/v1/households", json=household(), headers=tokens())).json()
    url = f"/api/v1/households/{created['id']}"
    forbidden = await client.post(f"{url}/deactivation", json={"reason": "moved"}, headers=tokens())
    assert forbidden.status_code == 403  # front office may not deactivate

    response = await client.post(
        f"{url}/deactivation",
        json={"reason": "duplicate", "note": "sama dengan KK lain"},
        headers=tokens("back_office"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "inactive"
    assert body["deactivation"]["reason"] == "duplicate"
    assert body["members"] == []
    stored = await session.scalar(
        select(func.count())
        .select_from(Member)
        .where(Member.household_id == uuid.UUID(created["id"]))
    )
    assert stored == 3  # members kept, inactive

    again = await client.patch(url, json={"desil": 1}, headers={**tokens(), "If-Match": '"2"'})
    assert again.status_code == 409

    # The NIKs are free again: the same people can be registered in another household.
    head = {
        k: created["members"][0][k] for k in ("nik", "name", "sex", "birth_date", "relationship")
    }
    retry = household(members=[head])
    assert (
        await client.post("/api/v1/households", json=retry, headers=tokens())
    ).status_code == 201


async def test_other_reason_needs_note(client: httpx.AsyncClient, tokens: Tokens) -> None:
    created = (await client.post("/api/v1/households", json=household(), headers=tokens())).json()
    response = await client.post(
        f"/api/v1/households/{created['id']}/deactivation",
        json={"reason": "other"},
        headers=tokens("manager"),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "note_required"


async def test_failed_create_writes_nothing(
    client: httpx.AsyncClient, tokens: Tokens, session: AsyncSession
) -> None:
    first = household()
    assert (
        await client.post("/api/v1/households", json=first, headers=tokens())
    ).status_code == 201
    before = await session.scalar(select(func.count()).select_from(Household))
    # The second household's last member reuses a NIK: nothing of it may be stored.
    second = household(
        members=[member(), member("Siti", "female", date(1990, 1, 1), "istri"), first["members"][1]]
    )
    response = await client.post("/api/v1/households", json=second, headers=tokens())
    assert response.status_code == 409
    assert await session.scalar(select(func.count()).select_from(Household)) == before
    assert await session.scalar(select(func.count()).select_from(HouseholdVersion)) == before


async def test_client_generated_id_is_kept_and_unique(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    chosen = "0b7f5d7e-3c1a-4f7e-9a51-6f0f3c2d9a11"
    payload = household(id=chosen)
    response = await client.post("/api/v1/households", json=payload, headers=tokens())
    assert response.status_code == 201 and response.json()["id"] == chosen
    again = await client.post("/api/v1/households", json=household(id=chosen), headers=tokens())
    assert again.status_code == 409


async def test_unknown_household_is_404(client: httpx.AsyncClient, tokens: Tokens) -> None:
    response = await client.get(
        "/api/v1/households/0b7f5d7e-3c1a-4f7e-9a51-6f0f3c2d9a12", headers=tokens()
    )
    assert response.status_code == 404
    assert response.json()["type"] == "urn:selaras:problem:not-found"


async def test_concurrent_registrations_of_one_nik(
    committed_client: httpx.AsyncClient, tokens: Tokens
) -> None:
    shared_head = member()
    payloads = [household(members=[shared_head]) for _ in range(4)]
    responses = await asyncio.gather(
        *(committed_client.post("/api/v1/households", json=p, headers=tokens()) for p in payloads)
    )
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    found = await committed_client.get(
        "/api/v1/households", params={"nik": shared_head["nik"]}, headers=tokens()
    )
    assert len(found.json()["items"]) == 1
