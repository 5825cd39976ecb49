"""Offline sync: per-record outcomes, idempotent retries, concurrency, bad input, access."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from selaras_registry.app import SYNC_MAX_BYTES
from selaras_registry.models import Household, HouseholdVersion, IdempotencyRecord
from selaras_registry.service.sync import purge_idempotency_records
from selaras_shared.db import make_sessionmaker, read_only

from .conftest import Tokens
from .factories import OTHER_REGENCY_VILLAGE, VILLAGE, create, household

URL = "/api/v1/sync"


def record(
    payload: dict[str, Any] | None = None,
    *,
    household_id: str | None = None,
    base_version: int | None = None,
) -> dict[str, Any]:
    """A sync record: the household document without its id, and the version last seen."""
    document = dict(payload if payload is not None else household())
    return {
        "id": household_id or str(uuid.uuid4()),
        "base_version": base_version,
        "household": document,
    }


def as_sent(served: dict[str, Any]) -> dict[str, Any]:
    """The input document of a served household (what an offline client would send back)."""
    fields = (
        "kk_number",
        "address",
        "rt",
        "rw",
        "village_code",
        "desil",
        "registry_status",
        "housing",
        "monthly_income",
        "programs_received",
        "ppks",
        "data_source",
        "verified_on",
    )
    member_fields = (
        "nik",
        "name",
        "sex",
        "birth_date",
        "relationship",
        "marital_status",
        "education",
        "in_school",
        "occupation",
        "disability",
        "chronic_illness",
        "pregnant",
        "ppks",
    )
    return {
        **{f: served[f] for f in fields},
        "members": [{f: m[f] for f in member_fields} for m in served["members"]],
    }


def key_headers(auth: dict[str, str], key: str | None = None, **more: str) -> dict[str, str]:
    """The caller's authorization with an Idempotency-Key (a fresh one unless given)."""
    return {**auth, "Idempotency-Key": key or f"batch-{uuid.uuid4()}", **more}


async def version_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(HouseholdVersion)) or 0)


async def test_batch_answers_every_outcome_in_order(
    client: httpx.AsyncClient, tokens: Tokens, session: AsyncSession
) -> None:
    to_update = await create(client, tokens())
    to_keep = await create(client, tokens())
    moved_on = await create(client, tokens())
    patched = await client.patch(
        f"/api/v1/households/{moved_on['id']}",
        json={"desil": 7},
        headers={**tokens(sub="office"), "If-Match": '"1"'},
    )
    assert patched.status_code == 200
    new = household()
    bad = household()
    del bad["kk_number"]
    nik_taken = household()
    nik_taken["members"][0] = {**nik_taken["members"][0], "nik": to_keep["members"][0]["nik"]}
    nik_taken["members"][0]["birth_date"] = to_keep["members"][0]["birth_date"]

    batch = [
        record(new),
        record({**as_sent(to_update), "desil": 1}, household_id=to_update["id"], base_version=1),
        record(as_sent(to_keep), household_id=to_keep["id"], base_version=1),
        record({**as_sent(moved_on), "desil": 3}, household_id=moved_on["id"], base_version=1),
        record(bad),
        record(nik_taken),
    ]
    response = await client.post(URL, json={"households": batch}, headers=key_headers(tokens()))
    assert response.status_code == 200, response.text
    assert "idempotent-replayed" not in response.headers
    body = response.json()
    results = body["results"]
    assert [r["outcome"] for r in results] == [
        "created",
        "updated",
        "unchanged",
        "conflict",
        "rejected",
        "rejected",
    ]
    assert [r["index"] for r in results] == list(range(6))
    assert [r["id"] for r in results] == [r["id"] for r in batch]
    assert body["summary"] == {
        "created": 1,
        "updated": 1,
        "unchanged": 1,
        "conflict": 1,
        "rejected": 2,
    }
    assert (results[0]["version"], results[0]["etag"]) == (1, '"1"')
    assert (results[1]["version"], results[1]["etag"]) == (2, '"2"')
    assert (results[2]["version"], results[2]["etag"]) == (1, '"1"')

    # The conflict carries the server's version, ETag and document to merge with.
    conflict = results[3]
    assert (conflict["version"], conflict["etag"]) == (2, '"2"')
    current = await client.get(f"/api/v1/households/{moved_on['id']}", headers=tokens())
    assert conflict["household"] == current.json()
    assert conflict["household"]["desil"] == 7 and conflict["household"]["masked"] is False
    assert conflict["problem"] is None

    invalid = results[4]["problem"]
    assert invalid["status"] == 422
    assert invalid["type"] == "urn:selaras:problem:validation-error"
    assert invalid["title"] == "Data tidak valid"
    assert invalid["errors"] == [
        {"field": "households.4.household.kk_number", "code": "missing", "message": "Wajib diisi"}
    ]
    duplicate = results[5]["problem"]
    assert duplicate["status"] == 409
    assert duplicate["errors"][0]["field"] == "households.5.household.members.0.nik"
    assert duplicate["errors"][0]["code"] == "nik_duplicate"
    assert results[5]["version"] is None and results[5]["etag"] is None

    # What the answer says is what the database holds.
    created = await client.get(f"/api/v1/households/{batch[0]['id']}", headers=tokens())
    assert created.status_code == 200 and created.json()["kk_number"] == new["kk_number"]
    history = (
        await client.get(f"/api/v1/households/{to_update['id']}/history", headers=tokens())
    ).json()["items"]
    assert history[-1]["change"] == "synced" and history[-1]["source"] == "sync"
    assert history[-1]["changes"] == {"desil": {"before": 2, "after": 1}}
    assert current.json()["version"] == 2  # the conflicting record wrote nothing
    for rejected in (batch[4], batch[5]):
        assert await session.get(Household, uuid.UUID(rejected["id"])) is None


async def test_retried_batch_replays_the_answer_and_writes_nothing(
    client: httpx.AsyncClient, tokens: Tokens, session: AsyncSession
) -> None:
    existing = await create(client, tokens())
    batch = {
        "households": [
            record(),
            record({**as_sent(existing), "rt": "009"}, household_id=existing["id"], base_version=1),
            record({**household(), "desil": 11}),
        ]
    }
    headers = key_headers(tokens(), "tablet-7:2026-11-22T08:15:00Z.0001")
    first = await client.post(URL, json=batch, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["summary"] == {
        "created": 1,
        "updated": 1,
        "unchanged": 0,
        "conflict": 0,
        "rejected": 1,
    }
    versions = await version_count(session)

    retried = await client.post(URL, json=batch, headers=headers)
    assert retried.status_code == 200
    assert retried.headers["idempotent-replayed"] == "true"
    assert retried.json() == first.json()
    assert await version_count(session) == versions
    # The same batch under a new key is applied again, and changes nothing.
    fresh = await client.post(URL, json=batch, headers=key_headers(tokens()))
    assert [r["outcome"] for r in fresh.json()["results"]] == ["unchanged", "unchanged", "rejected"]
    assert await version_count(session) == versions

    other_body = {"households": batch["households"][:2]}
    reused = await client.post(URL, json=other_body, headers=headers)
    assert reused.status_code == 422
    assert reused.headers["content-type"] == "application/problem+json"
    problem = reused.json()
    assert problem["type"] == "urn:selaras:problem:idempotency-key-reused"
    assert problem["errors"][0]["field"] == "Idempotency-Key"
    # Keys belong to their principal: another operator's identical key is a new batch.
    mine = await client.post(
        URL,
        json=other_body,
        headers=key_headers(tokens(sub="operator-2"), headers["Idempotency-Key"]),
    )
    assert mine.status_code == 200 and "idempotent-replayed" not in mine.headers


async def test_concurrent_batches_with_one_key_apply_once(
    committed_client: httpx.AsyncClient, tokens: Tokens, registry_engine: AsyncEngine
) -> None:
    existing = await create(committed_client, tokens())
    batch = {
        "households": [
            record(),
            record(),
            record({**as_sent(existing), "desil": 9}, household_id=existing["id"], base_version=1),
        ]
    }
    headers = key_headers(tokens(), "same-key")
    responses = await asyncio.gather(
        *(committed_client.post(URL, json=batch, headers=headers) for _ in range(4))
    )
    assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
    bodies = [r.json() for r in responses]
    assert all(body == bodies[0] for body in bodies)
    assert [r["outcome"] for r in bodies[0]["results"]] == ["created", "created", "updated"]
    assert sum("idempotent-replayed" not in r.headers for r in responses) == 1

    async with make_sessionmaker(read_only(registry_engine))() as reader:
        rows = await reader.execute(
            select(col(HouseholdVersion.household_id), func.count()).group_by(
                col(HouseholdVersion.household_id)
            )
        )
        per_household: dict[uuid.UUID, int] = {hid: count for hid, count in rows}
        stored = await reader.scalar(select(func.count()).select_from(IdempotencyRecord))
    assert per_household == {
        uuid.UUID(batch["households"][0]["id"]): 1,
        uuid.UUID(batch["households"][1]["id"]): 1,
        uuid.UUID(existing["id"]): 2,
    }
    assert stored == 1


async def test_idempotency_key_is_required_and_checked(
    client: httpx.AsyncClient, tokens: Tokens, session: AsyncSession
) -> None:
    batch = {"households": [record()]}
    missing = await client.post(URL, json=batch, headers=tokens())
    assert missing.status_code == 428
    assert missing.headers["content-type"] == "application/problem+json"
    assert "Idempotency-Key" in missing.json()["detail"]
    for bad in ("has space", "x" * 201, "kunci/miring", "kunci*", "a,b"):
        response = await client.post(URL, json=batch, headers={**tokens(), "Idempotency-Key": bad})
        assert response.status_code == 422, bad
        assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await version_count(session) == 0


async def test_malformed_envelope_fails_the_whole_batch(
    client: httpx.AsyncClient, tokens: Tokens, session: AsyncSession
) -> None:
    too_many = {"households": [{"id": str(uuid.uuid4()), "household": {}} for _ in range(501)]}
    response = await client.post(URL, json=too_many, headers=key_headers(tokens()))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["households"]
    assert response.json()["errors"][0]["code"] == "too_long"

    same_id = str(uuid.uuid4())
    duplicated = {"households": [record(household_id=same_id), record(household_id=same_id)]}
    response = await client.post(URL, json=duplicated, headers=key_headers(tokens()))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["households.1.id"]

    cases: list[tuple[object, str]] = [
        ({"households": []}, "households"),
        ({"households": {"id": same_id}}, "households"),
        ({"households": [{"household": household()}]}, "households.0.id"),
        ({"households": [record(), {**record(), "id": "not-a-uuid"}]}, "households.1.id"),
        ({"households": [{**record(), "base_version": 0}]}, "households.0.base_version"),
        ({"households": [record()], "extra": 1}, "extra"),
    ]
    for body, field in cases:
        response = await client.post(URL, json=body, headers=key_headers(tokens()))
        assert response.status_code == 422, body
        assert field in [e["field"] for e in response.json()["errors"]], response.json()
    assert await version_count(session) == 0
    assert await session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0


async def test_a_malformed_record_is_rejected_alone(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    wrong_nik = household()
    wrong_nik["members"][1] = {**wrong_nik["members"][1], "sex": "male"}
    batch = [
        record(),
        record({**household(), "village_code": "7303019999", "desil": 0}),
        record(wrong_nik),
        record({**household(), "id": str(uuid.uuid4())}),
        record(),
    ]
    response = await client.post(
        URL, json={"households": batch}, headers=key_headers(tokens(), **{"Accept-Language": "en"})
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == [
        "created",
        "rejected",
        "rejected",
        "rejected",
        "created",
    ]
    unknown_village = results[1]["problem"]
    assert unknown_village["title"] == "Invalid data"
    assert unknown_village["detail"] == "2 field(s) are invalid"
    assert {(e["field"], e["code"]) for e in unknown_village["errors"]} == {
        ("households.1.household.village_code", "village_code_unknown"),
        ("households.1.household.desil", "greater_than_equal"),
    }
    assert any("unknown" in e["message"] for e in unknown_village["errors"])
    sex = results[2]["problem"]["errors"]
    assert [(e["field"], e["code"]) for e in sex] == [
        ("households.2.household.members.1.nik", "nik_sex_mismatch")
    ]
    assert results[3]["problem"]["errors"][0]["field"] == "households.3.household.id"
    for applied in (batch[0], batch[4]):
        found = await client.get(f"/api/v1/households/{applied['id']}", headers=tokens())
        assert found.status_code == 200


async def test_new_record_whose_id_exists(client: httpx.AsyncClient, tokens: Tokens) -> None:
    existing = await create(client, tokens())
    same = record(as_sent(existing), household_id=existing["id"])
    differs = record({**as_sent(existing), "desil": 4}, household_id=existing["id"])
    unchanged = await client.post(URL, json={"households": [same]}, headers=key_headers(tokens()))
    assert unchanged.json()["results"][0]["outcome"] == "unchanged"
    conflict = await client.post(URL, json={"households": [differs]}, headers=key_headers(tokens()))
    result = conflict.json()["results"][0]
    assert result["outcome"] == "conflict"
    assert result["etag"] == '"1"' and result["household"]["desil"] == 2
    current = await client.get(f"/api/v1/households/{existing['id']}", headers=tokens())
    assert current.json()["version"] == 1


async def test_records_the_server_refuses(client: httpx.AsyncClient, tokens: Tokens) -> None:
    palopo_household = await create(client, tokens(), village_code=OTHER_REGENCY_VILLAGE)
    retired = await create(client, tokens())
    deactivated = await client.post(
        f"/api/v1/households/{retired['id']}/deactivation",
        json={"reason": "moved"},
        headers=tokens("back_office"),
    )
    assert deactivated.status_code == 200
    holder = await create(client, tokens())
    taken = as_sent(holder)["members"][1]
    grows = await create(client, tokens())
    batch = [
        record(household(village_code=OTHER_REGENCY_VILLAGE)),
        record(
            {**as_sent(palopo_household), "desil": 1},
            household_id=palopo_household["id"],
            base_version=1,
        ),
        record({**as_sent(retired), "desil": 1}, household_id=retired["id"], base_version=2),
        record(base_version=3),
        record(household(village_code=VILLAGE)),
        # Refused half-way through the update (after the version was claimed): the
        # record's savepoint undoes all of it.
        record(
            {
                **as_sent(grows),
                "desil": 1,
                "members": [
                    {**as_sent(grows)["members"][0], "name": "Andi Baso Renamed"},
                    *as_sent(grows)["members"][1:],
                    {**taken, "relationship": "lainnya"},
                ],
            },
            household_id=grows["id"],
            base_version=1,
        ),
    ]
    response = await client.post(
        URL,
        json={"households": batch},
        headers={**tokens(jurisdiction="7303"), "Idempotency-Key": "k1", "Accept-Language": "en"},
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["rejected"] * 4 + ["created", "rejected"]
    assert [r["problem"]["status"] for r in results[:4]] == [403, 404, 409, 404]
    assert "outside your jurisdiction" in results[0]["problem"]["detail"]
    assert "deactivated" in results[2]["problem"]["detail"]
    assert results[5]["problem"]["errors"][0]["field"] == "households.5.household.members.3.nik"
    assert response.json()["summary"]["rejected"] == 5
    untouched = await client.get(f"/api/v1/households/{grows['id']}", headers=tokens())
    assert untouched.json()["version"] == 1 and untouched.json()["desil"] == 2
    assert [m["name"] for m in untouched.json()["members"]] == [m["name"] for m in grows["members"]]


async def test_only_writers_may_sync(client: httpx.AsyncClient, tokens: Tokens) -> None:
    batch = {"households": [record()]}
    for role in ("partner", "admin", "supervisor", "service"):
        response = await client.post(
            URL,
            json=batch,
            headers={**tokens(role, org="baznas-7303"), "Idempotency-Key": f"k-{role}"},
        )
        assert response.status_code == 403, role
        assert response.headers["content-type"] == "application/problem+json"
    anonymous = await client.post(URL, json=batch, headers={"Idempotency-Key": "k"})
    assert anonymous.status_code == 401
    for role in ("facilitator", "front_office", "back_office", "manager"):
        allowed = await client.post(
            URL, json={"households": [record()]}, headers=key_headers(tokens(role))
        )
        assert allowed.json()["results"][0]["outcome"] == "created", role


async def test_change_source_header_is_kept(client: httpx.AsyncClient, tokens: Tokens) -> None:
    batch = [record()]
    response = await client.post(
        URL,
        json={"households": batch},
        headers=key_headers(tokens(), **{"X-Change-Source": "mobile:2.4"}),
    )
    assert response.status_code == 200
    history = (
        await client.get(f"/api/v1/households/{batch[0]['id']}/history", headers=tokens())
    ).json()["items"]
    assert (history[0]["source"], history[0]["change"]) == ("mobile:2.4", "created")


async def test_expired_keys_are_forgotten(
    client: httpx.AsyncClient, tokens: Tokens, session: AsyncSession
) -> None:
    old = datetime.now(UTC) - timedelta(days=8)
    for subject, key in (
        ("operator-1", "old-key"),
        ("operator-1", "other-old-key"),
        ("someone-else", "old-key"),
    ):
        session.add(
            IdempotencyRecord(
                scope="sync",
                subject=subject,
                key=key,
                request_sha256="0" * 64,
                status_code=200,
                response={"results": [], "summary": {}},
                created_at=old,
            )
        )
    await session.flush()
    # Past the retention the key is free again: the batch is applied, not refused.
    response = await client.post(
        URL, json={"households": [record()]}, headers=key_headers(tokens(), "old-key")
    )
    assert response.status_code == 200
    assert "idempotent-replayed" not in response.headers
    assert response.json()["summary"]["created"] == 1
    # The rest waits for the purge, which keeps what is younger than the retention.
    assert await purge_idempotency_records(session, timedelta(days=7)) == 2
    remaining = (await session.scalars(select(IdempotencyRecord))).all()
    assert [(r.subject, r.key, r.status_code) for r in remaining] == [
        ("operator-1", "old-key", 200)
    ]
    assert remaining[0].response == response.json()


async def test_sync_takes_bodies_larger_than_other_routes(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    # The test app limits bodies to 64 KiB; a sync batch of whole households needs more.
    batch = {"households": [record() for _ in range(70)]}
    assert len(json.dumps(batch)) > 64 * 1024
    response = await client.post(URL, json=batch, headers=key_headers(tokens()))
    assert response.status_code == 200, response.text
    assert response.json()["summary"]["created"] == 70
    elsewhere = await client.post(
        "/api/v1/households", json={**household(), "address": "x" * 70_000}, headers=tokens()
    )
    assert elsewhere.status_code == 413
    huge = {"households": [record({**household(), "address": "x" * SYNC_MAX_BYTES})]}
    too_large = await client.post(URL, json=huge, headers=key_headers(tokens()))
    assert too_large.status_code == 413
