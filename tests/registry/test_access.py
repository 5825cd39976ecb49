"""Access: jurisdiction limits, masking without personal-data rights, access log."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from selaras_registry.models import AccessLog

from .conftest import Tokens
from .factories import OTHER_REGENCY_VILLAGE, VILLAGE, create, household


async def test_token_outside_jurisdiction(client: httpx.AsyncClient, tokens: Tokens) -> None:
    created = await create(client, tokens())
    palopo = tokens(jurisdiction="7373")
    url = f"/api/v1/households/{created['id']}"
    assert (await client.get(url, headers=palopo)).status_code == 404
    assert (await client.get(f"{url}/history", headers=palopo)).status_code == 404
    patch = await client.patch(url, json={"desil": 1}, headers={**palopo, "If-Match": '"1"'})
    assert patch.status_code == 404
    # Creating a household in another regency is forbidden.
    outside = await client.post("/api/v1/households", json=household(), headers=palopo)
    assert outside.status_code == 403
    # Searching another regency is forbidden; an unqualified search is narrowed.
    assert (
        await client.get("/api/v1/households", params={"region": "7303"}, headers=palopo)
    ).status_code == 403
    narrowed = await client.get(
        "/api/v1/households", params={"kk_number": created["kk_number"]}, headers=palopo
    )
    assert narrowed.json()["items"] == []
    # Moving a household's village out of one's jurisdiction is forbidden.
    village_operator = tokens(jurisdiction=VILLAGE)
    moved = await client.patch(
        url,
        json={"village_code": OTHER_REGENCY_VILLAGE},
        headers={**village_operator, "If-Match": '"1"'},
    )
    assert moved.status_code == 403
    assert (await client.get(url, headers=village_operator)).json()["version"] == 1


async def test_masked_without_personal_data_rights(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    created = await create(client, tokens())
    partner = tokens("partner", jurisdiction="7303", org="baznas-7303")
    response = await client.get(f"/api/v1/households/{created['id']}", headers=partner)
    assert response.status_code == 200
    body = response.json()
    assert body["masked"] is True
    assert body["kk_number"] == created["kk_number"][:6] + "*" * 10
    assert body["address"] == "***"
    head = body["members"][0]
    assert head["nik"] == created["members"][0]["nik"][:6] + "*" * 10
    assert head["name"] == "A*** B***"
    assert head["birth_date"] is None
    assert body["desil"] == created["desil"]  # non-identifying data stays visible
    history = (
        await client.get(f"/api/v1/households/{created['id']}/history", headers=partner)
    ).json()
    assert created["members"][0]["nik"] not in str(history)
    # Searching by identity needs the right; writing needs the right too.
    by_nik = await client.get(
        "/api/v1/households", params={"nik": created["members"][0]["nik"]}, headers=partner
    )
    assert by_nik.status_code == 403
    listed = (
        await client.get("/api/v1/households", params={"region": "7303"}, headers=partner)
    ).json()
    assert all(item["masked"] for item in listed["items"])
    assert (
        await client.post("/api/v1/households", json=household(), headers=partner)
    ).status_code == 403
    assert (
        await client.post("/api/v1/households", json=household(), headers=tokens("admin"))
    ).status_code == 403


async def test_reads_of_personal_data_are_logged(
    client: httpx.AsyncClient, tokens: Tokens, session: AsyncSession
) -> None:
    created = await create(client, tokens())
    household_id = uuid.UUID(created["id"])
    reader = {**tokens("back_office", sub="bo-7"), "X-Purpose": "verifikasi rujukan"}
    await client.get(f"/api/v1/households/{created['id']}", headers=reader)
    await client.get(
        "/api/v1/households", params={"kk_number": created["kk_number"]}, headers=reader
    )
    await client.get(f"/api/v1/households/{created['id']}/history", headers=reader)
    # A masked read carries no personal data and is not logged.
    await client.get(f"/api/v1/households/{created['id']}", headers=tokens("partner", org="baznas"))
    rows = list(
        await session.scalars(select(AccessLog).where(AccessLog.household_id == household_id))
    )
    assert [(r.subject, r.action, r.purpose) for r in rows] == [
        ("bo-7", "read", "verifikasi rujukan"),
        ("bo-7", "search", "verifikasi rujukan"),
        ("bo-7", "history", "verifikasi rujukan"),
    ]
    assert all(r.role == "back_office" and r.request_id for r in rows)


async def test_requests_without_valid_token(client: httpx.AsyncClient, tokens: Tokens) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ):
        response = await client.get("/api/v1/households", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert "bearer" in response.headers["www-authenticate"].lower()


async def test_reads_by_id_commit_their_log_rows_under_concurrency(
    committed_client: httpx.AsyncClient, tokens: Tokens, registry_engine: AsyncEngine
) -> None:
    """Reads of one household on a committing app (on PostgreSQL one statement each, on a
    pooled connection outside any transaction): more readers at once than the pool holds
    all get the household, each read has its own committed log row, and reads that find
    nothing to show (outside the jurisdiction, unknown, masked) write none."""
    created = (
        await committed_client.post("/api/v1/households", json=household(), headers=tokens())
    ).json()
    url = f"/api/v1/households/{created['id']}"
    reader = {**tokens("back_office", sub="bo-9"), "X-Purpose": "cek rujukan"}
    responses = await asyncio.gather(
        *(committed_client.get(url, headers=reader) for _ in range(12))
    )
    assert {r.status_code for r in responses} == {200}
    assert {r.headers["ETag"] for r in responses} == {'"1"'}
    assert all(r.json() == {**created, "masked": False} for r in responses)

    outside = tokens("back_office", jurisdiction="7373", sub="bo-palopo")
    assert (await committed_client.get(url, headers=outside)).status_code == 404
    unknown = await committed_client.get(f"/api/v1/households/{uuid.uuid4()}", headers=reader)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    masked = await committed_client.get(url, headers=tokens("partner", org="baznas"))
    assert masked.status_code == 200 and masked.json()["masked"] is True

    async with AsyncSession(registry_engine) as check:
        rows = list(await check.scalars(select(AccessLog).order_by(AccessLog.id)))
    reads = [r for r in rows if r.action == "read"]
    assert [(r.subject, r.role, r.purpose, str(r.household_id)) for r in reads] == [
        ("bo-9", "back_office", "cek rujukan", created["id"])
    ] * 12
    assert len({r.request_id for r in reads}) == 12
    assert all(r.at is not None and r.region is None and r.records is None for r in reads)
