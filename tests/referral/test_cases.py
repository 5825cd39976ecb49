"""Cases: intake checked against the registry (or recorded unchecked when it is down),
validation, sensitive cases, jurisdictions, idempotent offline creation, If-Match updates."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from selaras_referral.models import IntakeCase, OutboxEvent
from tests.referral.flow import API, FO, MANAGER, case_body, new_case
from tests.referral.upstreams import Upstreams
from tests.registry import factories
from tests.support import bearer


async def test_a_case_is_recorded_checked_with_its_event(
    client: httpx.AsyncClient, upstreams: Upstreams, session: AsyncSession
) -> None:
    case = await new_case(client, upstreams)
    assert case["registry_check"] == "checked" and case["registry_problem"] is None
    assert case["region"] == factories.VILLAGE and case["registered_by"] == "fo-7303"
    assert case["office"] == "7303" and case["status"] == "open" and case["version"] == 1
    read = await client.get(f"{API}/cases/{case['id']}", headers=FO)
    assert read.status_code == 200 and read.headers["etag"] == '"1"'
    assert read.json() == case
    events = (
        await session.scalars(
            select(OutboxEvent).where(OutboxEvent.subject_id == uuid.UUID(case["id"]))
        )
    ).all()
    assert [(e.type, e.organization, e.region) for e in events] == [
        ("case.created", None, factories.VILLAGE)
    ]
    assert "description" not in events[0].data  # events carry no personal data


@pytest.mark.parametrize("state", ["down", "slow"])
async def test_registry_down_or_slow_records_the_case_unchecked(
    client: httpx.AsyncClient, upstreams: Upstreams, state: str
) -> None:
    household = await upstreams.household()
    getattr(upstreams, state)("registry")
    created = await client.post(
        f"{API}/cases",
        json=case_body(household),
        headers={**FO, "Accept-Language": "en"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["registry_check"] == "unchecked"
    assert body["registry_problem"]["en"] and body["registry_problem"]["id"]


async def test_unknown_household_is_404_naming_it(
    client: httpx.AsyncClient, upstreams: Upstreams
) -> None:
    household = await upstreams.household()
    body = case_body(household, household_id=str(uuid.uuid4()), member_id=None)
    answer = await client.post(f"{API}/cases", json=body, headers=FO)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"channel": "carrier_pigeon"}, "channel"),
        ({"type": None}, "type"),
        ({"ppks": ["not_a_category"]}, "ppks.0"),
        ({"ppks": ["fakir_miskin", "fakir_miskin"]}, "ppks"),
        ({"description": ""}, "description"),
        ({"village_code": "73"}, "village_code"),
        ({"consent": {"scope": [], "given_at": "2026-11-20", "given_by": "x"}}, "consent.scope"),
        ({"consent": {"scope": ["referral"], "given_by": "x"}}, "consent.given_at"),
        ({"priority": "asap"}, "priority"),
        ({"unknown": 1}, "unknown"),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    client: httpx.AsyncClient,
    upstreams: Upstreams,
    session: AsyncSession,
    change: dict[str, Any],
    field: str,
) -> None:
    household = await upstreams.household()
    answer = await client.post(
        f"{API}/cases",
        json=case_body(household, **change),
        headers={**FO, "Accept-Language": "en"},
    )
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["errors"][0]["field"].startswith(field), problem
    assert (await session.scalars(select(IntakeCase))).all() == []


async def test_registry_disagreements_are_422(
    client: httpx.AsyncClient, upstreams: Upstreams
) -> None:
    household = await upstreams.household()
    other = await upstreams.household()
    wrong_village = await client.post(
        f"{API}/cases", json=case_body(household, village_code="7303012001"), headers=FO
    )
    assert wrong_village.status_code == 422
    assert wrong_village.json()["errors"][0]["field"] == "village_code"
    stranger = await client.post(
        f"{API}/cases",
        json=case_body(household, member_id=other["members"][0]["id"]),
        headers=FO,
    )
    assert stranger.status_code == 422
    assert stranger.json()["errors"][0]["field"] == "member_id"


async def test_roles_that_may_not_register_are_refused(
    client: httpx.AsyncClient, upstreams: Upstreams
) -> None:
    household = await upstreams.household()
    for role, org in (("partner", "baznas-7303"), ("admin", None), ("supervisor", None)):
        answer = await client.post(
            f"{API}/cases", json=case_body(household), headers=bearer(role, "7303", role, org)
        )
        assert answer.status_code == 403, (role, answer.text)
    outside = await client.post(
        f"{API}/cases",
        json=case_body(household),
        headers=bearer("front_office", "7371", "fo-7371", None),
    )
    assert outside.status_code == 422
    assert outside.json()["errors"][0]["field"] == "village_code"
    facilitator = await client.post(
        f"{API}/cases",
        json=case_body(household, channel="facilitator_outreach"),
        headers=bearer("facilitator", "730301", "tksk-1", None),
    )
    assert facilitator.status_code == 201


async def test_cases_are_scoped_to_the_jurisdiction(
    client: httpx.AsyncClient, upstreams: Upstreams
) -> None:
    case = await new_case(client, upstreams)
    for headers in (
        bearer("front_office", "7303011001", "fo-other-village", None),
        bearer("partner", "7303", "baznas-officer", "baznas-7303"),
        bearer("admin", "7303", "admin", None),
    ):
        assert (await client.get(f"{API}/cases/{case['id']}", headers=headers)).status_code == 404
        listed = await client.get(f"{API}/cases", headers=headers)
        assert case["id"] not in [c["id"] for c in listed.json()["items"]]
    village = bearer("front_office", factories.VILLAGE, "fo-village", None)
    assert (await client.get(f"{API}/cases/{case['id']}", headers=village)).status_code == 200


async def test_sensitive_cases_are_seen_only_by_named_roles(
    client: httpx.AsyncClient, upstreams: Upstreams
) -> None:
    case = await new_case(client, upstreams, sensitive=True, ppks=["anak_korban_tindak_kekerasan"])
    readers = [
        FO,  # the registering officer
        bearer("back_office", "7303", "bo", None),
        bearer("supervisor", "730301", "spv", None),
        MANAGER,
    ]
    others = [
        bearer("front_office", "7303", "another-fo", None),
        bearer("facilitator", "7303", "tksk", None),
        bearer("admin", "7303", "admin", None),
    ]
    for headers in readers:
        assert (await client.get(f"{API}/cases/{case['id']}", headers=headers)).status_code == 200
        listed = await client.get(f"{API}/cases", headers=headers)
        assert case["id"] in [c["id"] for c in listed.json()["items"]]
    for headers in others:
        answer = await client.get(f"{API}/cases/{case['id']}", headers=headers)
        assert answer.status_code == 404
        listed = await client.get(f"{API}/cases", headers=headers)
        assert case["id"] not in [c["id"] for c in listed.json()["items"]]


async def test_offline_creation_is_idempotent(
    client: httpx.AsyncClient, upstreams: Upstreams, session: AsyncSession
) -> None:
    household = await upstreams.household()
    body = case_body(household, id=str(uuid.uuid4()), channel="facilitator_outreach")
    headers = {**FO, "Idempotency-Key": "tablet-7:case-1"}
    first = await client.post(f"{API}/cases", json=body, headers=headers)
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    for _ in range(2):
        again = await client.post(f"{API}/cases", json=body, headers=headers)
        assert again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
    other_body = await client.post(
        f"{API}/cases", json={**body, "description": "lain"}, headers=headers
    )
    assert other_body.status_code == 422
    assert other_body.json()["errors"][0]["field"] == "Idempotency-Key"
    rows = (
        await session.scalars(select(IntakeCase).where(IntakeCase.id == uuid.UUID(body["id"])))
    ).all()
    assert len(rows) == 1
    events = (
        await session.scalars(
            select(OutboxEvent).where(OutboxEvent.subject_id == uuid.UUID(body["id"]))
        )
    ).all()
    assert len(events) == 1
    # The same client id without the key is a conflict, not a second case.
    reused = await client.post(f"{API}/cases", json=body, headers=FO)
    assert reused.status_code == 409
    bad_key = await client.post(f"{API}/cases", json=body, headers={**FO, "Idempotency-Key": "a b"})
    assert bad_key.status_code == 422


async def test_updates_need_if_match_and_lose_nothing(
    client: httpx.AsyncClient, upstreams: Upstreams
) -> None:
    case = await new_case(client, upstreams)
    url = f"{API}/cases/{case['id']}"
    missing = await client.patch(url, json={"priority": "high"}, headers=FO)
    assert missing.status_code == 428
    changed = await client.patch(url, json={"priority": "high"}, headers={**FO, "If-Match": '"1"'})
    assert changed.status_code == 200 and changed.json()["priority"] == "high"
    assert changed.headers["etag"] == '"2"'
    stale = await client.patch(url, json={"priority": "low"}, headers={**FO, "If-Match": '"1"'})
    assert stale.status_code == 412
    empty = await client.patch(url, json={}, headers={**FO, "If-Match": '"2"'})
    assert empty.status_code == 422
    assert (await client.get(url, headers=FO)).json()["priority"] == "high"


async def test_concurrent_offline_retries_create_one_case(
    committing_client: httpx.AsyncClient, upstreams: Upstreams
) -> None:
    upstreams.down("registry")
    headers = {
        **bearer("front_office", "7371", "fo-7371", None),
        "Idempotency-Key": uuid.uuid4().hex,
    }
    body = case_body(
        {
            "id": str(uuid.uuid4()),
            "members": [{"id": str(uuid.uuid4())}],
            "village_code": "7371011001",
        },
        id=str(uuid.uuid4()),
    )
    answers = await asyncio.gather(
        *(committing_client.post(f"{API}/cases", json=body, headers=headers) for _ in range(4))
    )
    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 3
    assert len({a.json()["id"] for a in answers}) == 1
