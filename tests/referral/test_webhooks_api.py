"""Webhook subscription API: who may subscribe to what, bad input, ETags, secrets, the
delivery log's pages and the test ping."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from selaras_referral.egress import AddressPolicy
from selaras_referral.events import emit
from selaras_referral.models.webhooks import WebhookSubscription
from selaras_referral.sealing import Sealer
from selaras_referral.service.delivery import verify
from selaras_referral.service.webhooks import check_url
from selaras_referral.settings import ReferralSettings
from selaras_shared.errors import InvalidInput
from tests.referral.conftest import Tokens
from tests.referral.webhooks_support import LOOPBACK, running_receiver
from tests.support import savepoint_sessions

API = "/api/v1/webhooks"
GOOD = {"url": "https://partner.example.org/hooks", "event_types": ["referral.*"]}


def baznas(tokens: Tokens) -> dict[str, str]:
    return tokens(role="partner", jurisdiction="7303", sub="baznas-api", org="baznas-7303")


def bank(tokens: Tokens) -> dict[str, str]:
    return tokens(role="partner", jurisdiction="7303", sub="bank-api", org="bank-sulselbar")


async def create(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await client.post(API, json={**GOOD, **body}, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_a_partner_subscribes_for_its_organisation_and_gets_the_secret_once(
    client: httpx.AsyncClient, session: AsyncSession, tokens: Tokens
) -> None:
    response = await client.post(API, json=GOOD, headers=baznas(tokens))
    assert response.status_code == 201
    created = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"{API}/{created['id']}"
    assert created["organization"] == "baznas-7303" and created["created_by"] == "baznas-api"
    assert created["event_types"] == ["referral.*"] and created["active"] is True
    assert len(created["secret"]) >= 32
    stored = await session.get(WebhookSubscription, uuid.UUID(created["id"]))
    # Stored sealed: the database holds no usable secret without the service's keys.
    assert stored is not None and stored.secret.startswith("fernet:")
    assert created["secret"] not in stored.secret
    assert Sealer.from_settings(ReferralSettings()).open(stored.secret) == created["secret"]

    read = await client.get(f"{API}/{created['id']}", headers=baznas(tokens))
    assert read.status_code == 200 and read.headers["ETag"] == '"1"'
    assert read.json()["secret"] is None
    listed = await client.get(API, headers=baznas(tokens))
    assert [w["id"] for w in listed.json()["items"]] == [created["id"]]
    assert listed.json()["items"][0]["secret"] is None

    given = await create(client, baznas(tokens), secret="my-own-secret-0123456789")
    assert given["secret"] is None  # the caller knows it already: never echoed


async def test_others_subscriptions_are_not_found(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    ours = await create(client, baznas(tokens))
    office = await create(
        client, tokens(role="back_office", jurisdiction="7303012001", sub="bo-village")
    )
    base = f"{API}/{ours['id']}"
    intruders = [
        bank(tokens),
        tokens(role="manager", jurisdiction="7303"),  # an office never sees a partner's
    ]
    for headers in intruders:
        assert (await client.get(base, headers=headers)).status_code == 404
        patch = await client.patch(
            base, json={"active": False}, headers={**headers, "If-Match": '"1"'}
        )
        assert patch.status_code == 404
        assert (await client.get(f"{base}/deliveries", headers=headers)).status_code == 404
        assert (await client.post(f"{base}/replay", json={}, headers=headers)).status_code == 404
        assert (await client.delete(base, headers=headers)).status_code == 404
    assert (await client.get(API, headers=bank(tokens))).json()["items"] == []
    # Offices see office subscriptions within their jurisdiction, and only those.
    regency = await client.get(API, headers=tokens(role="manager", jurisdiction="7303"))
    assert [w["id"] for w in regency.json()["items"]] == [office["id"]]
    other = tokens(role="manager", jurisdiction="7310", sub="mgr-7310")
    assert (await client.get(f"{API}/{office['id']}", headers=other)).status_code == 404
    assert (await client.get(API, headers=other)).json()["items"] == []
    assert (await client.get(f"{API}/{uuid.uuid4()}", headers=baznas(tokens))).status_code == 404
    assert (await client.get(base, headers=baznas(tokens))).status_code == 200


async def test_who_may_manage_webhooks(client: httpx.AsyncClient, tokens: Tokens) -> None:
    for role in ("supervisor", "service"):
        response = await client.post(API, json=GOOD, headers=tokens(role=role))
        assert response.status_code == 403, role
    orphan = tokens(role="partner", org=None)
    assert (await client.post(API, json=GOOD, headers=orphan)).status_code == 403
    assert (await client.get(API)).status_code == 401
    for role in ("facilitator", "front_office", "back_office", "manager", "admin"):
        created = await create(client, tokens(role=role, sub=f"{role}-1"))
        assert created["organization"] is None and created["jurisdiction"] == "7303"


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"url": "ftp://partner.example.org/x"}, "url", "url_invalid"),
        ({"url": "partner.example.org/hooks"}, "url", "url_invalid"),
        ({"url": "http://partner.example.org/hooks"}, "url", "url_not_https"),
        ({"url": "https://user:pw@partner.example.org/"}, "url", "url_invalid"),
        ({"url": "https://[::1"}, "url", "url_invalid"),
        ({"url": ""}, "url", "string_too_short"),
        ({"secret": "short"}, "secret", "string_too_short"),
        ({"secret": "has spaces in it 0123456789"}, "secret", "secret_invalid"),
        ({"event_types": []}, "event_types", "too_short"),
        ({"event_types": ["referral.accepted", "referral.eaten"]}, "event_types.1", None),
        ({"event_types": ["*"]}, "event_types.0", "event_type_unknown"),
        ({"event_types": ["household.*"]}, "event_types.0", "event_type_unknown"),
        ({"event_types": "referral.*"}, "event_types", "list_type"),
        ({"jurisdiction": "7310"}, "jurisdiction", "jurisdiction_outside"),
        ({"jurisdiction": "73x"}, "jurisdiction", "string_pattern_mismatch"),
        ({"colour": "red"}, "colour", "extra_forbidden"),
    ],
)
async def test_bad_subscriptions_are_422_naming_the_field(
    client: httpx.AsyncClient,
    session: AsyncSession,
    tokens: Tokens,
    body: dict[str, Any],
    field: str,
    code: str | None,
) -> None:
    headers = {**tokens(role="manager", jurisdiction="7303"), "Accept-Language": "en"}
    response = await client.post(API, json={**GOOD, **body}, headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    [issue] = response.json()["errors"]
    assert issue["field"] == field
    if code is not None:
        assert issue["code"] == code
    assert (await session.scalars(select(WebhookSubscription))).all() == []


async def test_problems_are_in_indonesian_by_default(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    response = await client.post(
        API, json={**GOOD, "url": "http://partner.example.org/"}, headers=baznas(tokens)
    )
    assert response.json()["errors"][0]["message"] == "URL webhook harus memakai https"
    partner_region = await client.post(
        API, json={**GOOD, "jurisdiction": "7303"}, headers=baznas(tokens)
    )
    assert partner_region.status_code == 422
    assert partner_region.json()["errors"][0]["field"] == "jurisdiction"


def test_plain_http_only_to_loopback_unless_allowed() -> None:
    loopback, intranet = AddressPolicy(LOOPBACK), AddressPolicy(["10.0.0.0/8"])
    for url in ("http://127.0.0.1:9000/h", "http://localhost/h", "http://[::1]:80/h"):
        assert check_url(url, allow_http=False, policy=loopback) == url
    with pytest.raises(InvalidInput):
        check_url("http://10.0.0.5/h", allow_http=False, policy=intranet)
    assert check_url("http://10.0.0.5/h", allow_http=True, policy=intranet) == "http://10.0.0.5/h"


async def test_updates_need_the_current_etag_and_rotate_the_secret(
    client: httpx.AsyncClient, session: AsyncSession, tokens: Tokens
) -> None:
    created = await create(client, baznas(tokens))
    url = f"{API}/{created['id']}"
    assert (
        await client.patch(url, json={"active": False}, headers=baznas(tokens))
    ).status_code == 428

    changed = await client.patch(
        url,
        json={"event_types": ["referral.accepted", "referral.accepted", "referral.rejected"]},
        headers={**baznas(tokens), "If-Match": '"1"'},
    )
    assert changed.status_code == 200 and changed.headers["ETag"] == '"2"'
    assert changed.json()["event_types"] == ["referral.accepted", "referral.rejected"]
    assert changed.json()["secret"] is None
    stale = await client.patch(
        url, json={"active": False}, headers={**baznas(tokens), "If-Match": '"1"'}
    )
    assert stale.status_code == 412 and stale.headers["ETag"] == '"2"'

    rotated = await client.patch(
        url, json={"rotate_secret": True}, headers={**baznas(tokens), "If-Match": '"2"'}
    )
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret and new_secret != created["secret"]
    stored = await session.get(WebhookSubscription, uuid.UUID(created["id"]))
    assert stored is not None
    await session.refresh(stored)
    sealer = Sealer.from_settings(ReferralSettings())
    assert sealer.open(stored.secret) == new_secret and stored.version == 3
    set_own = await client.patch(
        url,
        json={"secret": "chosen-secret-0123456789"},
        headers={**baznas(tokens), "If-Match": '"3"'},
    )
    assert set_own.json()["secret"] is None and set_own.json()["version"] == 4

    both = await client.patch(
        url,
        json={"secret": "chosen-secret-0123456789", "rotate_secret": True},
        headers={**baznas(tokens), "If-Match": '"4"'},
    )
    assert both.status_code == 422 and both.json()["errors"][0]["field"] == "rotate_secret"
    bad_url = await client.patch(
        url, json={"url": "http://example.org/"}, headers={**baznas(tokens), "If-Match": '"4"'}
    )
    assert bad_url.status_code == 422 and bad_url.json()["errors"][0]["field"] == "url"
    await session.refresh(stored)
    assert stored.version == 4 and stored.url == GOOD["url"]


async def test_delete_unsubscribes(client: httpx.AsyncClient, tokens: Tokens) -> None:
    created = await create(client, baznas(tokens))
    url = f"{API}/{created['id']}"
    assert (await client.delete(url, headers=baznas(tokens))).status_code == 204
    assert (await client.get(url, headers=baznas(tokens))).status_code == 404
    assert (await client.delete(url, headers=baznas(tokens))).status_code == 404


async def test_the_delivery_log_pages_and_filters(
    client: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    created = await create(client, baznas(tokens), event_types=["referral.accepted"])
    sessions = savepoint_sessions(connection)
    ids = []
    async with sessions() as writer:
        for kind in ("accepted", "rejected", "accepted", "accepted"):
            event = await emit(
                writer,
                type=f"referral.{kind}",
                subject_type="referral",
                subject_id=uuid.uuid4(),
                region="7303012001",
                organization="baznas-7303",
                data={"status": kind},
            )
            if kind == "accepted":
                ids.append(str(event.id))
        await writer.commit()
    url = f"{API}/{created['id']}/deliveries"
    first = await client.get(url, params={"limit": 2}, headers=baznas(tokens))
    assert [d["event_id"] for d in first.json()["items"]] == ids[::-1][:2]
    cursor = first.json()["next_cursor"]
    second = await client.get(url, params={"limit": 2, "cursor": cursor}, headers=baznas(tokens))
    assert [d["event_id"] for d in second.json()["items"]] == [ids[0]]
    assert second.json()["next_cursor"] is None
    assert all(d["status"] == "pending" for d in second.json()["items"])
    pending = await client.get(url, params={"status": "delivered"}, headers=baznas(tokens))
    assert pending.json()["items"] == []

    bad_params: list[tuple[dict[str, str | int], str]] = [
        ({"status": "lost"}, "status"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"limit": 0}, "limit"),
    ]
    for params, field in bad_params:
        bad = await client.get(url, params=params, headers=baznas(tokens))
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == field
    missing = await client.get(f"{url}/{uuid.uuid4()}", headers=baznas(tokens))
    assert missing.status_code == 404
    replay_missing = await client.post(f"{url}/{uuid.uuid4()}/replay", headers=baznas(tokens))
    assert replay_missing.status_code == 404


async def test_bad_replay_requests_are_422(client: httpx.AsyncClient, tokens: Tokens) -> None:
    created = await create(client, baznas(tokens))
    url = f"{API}/{created['id']}/replay"
    for body, field in [
        ({"status": "lost"}, "status"),
        ({"since": "2026-11-22T10:00:00Z", "until": "2026-11-21T10:00:00Z"}, "body"),
        ({"since": "2026-11-22T10:00:00"}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"everything": True}, "everything"),
    ]:
        response = await client.post(url, json=body, headers=baznas(tokens))
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["field"] == field, body
    assert (await client.post(url, json={}, headers=baznas(tokens))).json() == {"queued": 0}


async def test_list_of_subscriptions_pages(client: httpx.AsyncClient, tokens: Tokens) -> None:
    made = [(await create(client, baznas(tokens)))["id"] for _ in range(3)]
    first = await client.get(API, params={"limit": 2}, headers=baznas(tokens))
    second = await client.get(
        API, params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=baznas(tokens)
    )
    seen = [w["id"] for w in first.json()["items"] + second.json()["items"]]
    assert sorted(seen) == sorted(made) and len(seen) == 3
    assert second.json()["next_cursor"] is None
    bad = await client.get(API, params={"cursor": "eyJ4IjoxfQ"}, headers=baznas(tokens))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"


async def test_a_ping_reaches_the_receiver_signed(
    client: httpx.AsyncClient, session: AsyncSession, tokens: Tokens
) -> None:
    with running_receiver() as receiver:
        created = await create(
            client, baznas(tokens), url=f"{receiver.url}/in", secret="ping-secret-0123456789"
        )
        response = await client.post(f"{API}/{created['id']}/ping", headers=baznas(tokens))
        assert response.status_code == 200
        assert response.json()["delivered"] is True and response.json()["status_code"] == 200
        [request] = receiver.received
        assert request.json["type"] == "webhook.ping"
        now = float(request.headers["selaras-timestamp"])
        assert verify(
            "ping-secret-0123456789", request.headers["selaras-signature"], request.body, now=now
        )
        receiver.status = lambda _n: 410
        gone = await client.post(f"{API}/{created['id']}/ping", headers=baznas(tokens))
        assert gone.json()["delivered"] is False and gone.json()["error"] == "HTTP 410"
    stored = await session.scalars(
        select(WebhookSubscription).where(col(WebhookSubscription.id) == uuid.UUID(created["id"]))
    )
    assert stored.one().active is True


async def test_the_signature_scheme_is_in_the_api_docs(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    described = spec["paths"]["/api/v1/webhooks"]["post"]["description"]
    assert "Selaras-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256" in described
    assert "/api/v1/webhooks/{subscription_id}/replay" in spec["paths"]
