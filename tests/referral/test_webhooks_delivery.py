"""Webhook delivery from the outbox: signed POSTs to a real loopback receiver, retries with
backoff on a moved clock, outages, dead deliveries and replay, partner boundaries,
transactions, claims."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from selaras_referral.egress import webhook_client
from selaras_referral.events import emit
from selaras_referral.models.outbox import OutboxEvent
from selaras_referral.models.webhooks import WebhookAttempt, WebhookDelivery
from selaras_referral.service.delivery import Backoff, Dispatcher, verify
from selaras_referral.settings import ReferralSettings
from tests.referral.conftest import Tokens
from tests.referral.webhooks_support import (
    LOOPBACK,
    MovableClock,
    Receiver,
    free_port,
    running_receiver,
)
from tests.support import savepoint_sessions

SECRET = "partner-secret-0123456789"
VILLAGE = "7303012001"
#: A schedule easy to follow on a moved clock: 10 s, 20 s, then 25 s, 5 attempts.
TUNED: dict[str, Any] = {
    "webhook_backoff_base_seconds": 10,
    "webhook_backoff_cap_seconds": 25,
    "webhook_backoff_jitter": 0,
    "webhook_max_attempts": 5,
    "webhook_timeout_seconds": 2,
}


def dispatcher(
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    clock: MovableClock,
    **overrides: Any,
) -> Dispatcher:
    """A dispatcher on the tuned schedule, with a seeded jitter."""
    settings = ReferralSettings(**{**TUNED, **overrides})
    return Dispatcher(sessions, http, settings, clock=clock, rng=random.Random(7))


async def emit_event(
    sessions: async_sessionmaker[AsyncSession],
    *,
    type: str = "referral.accepted",
    organization: str | None = "baznas-7303",
    region: str = VILLAGE,
) -> OutboxEvent:
    """Emit one event and commit it, as the referral service does with a change."""
    async with sessions() as session:
        event = await emit(
            session,
            type=type,
            subject_type=type.split(".")[0],
            subject_id=uuid.uuid4(),
            region=region,
            organization=organization,
            data={"status": type.split(".")[1], "from": "requested", "to": "accepted"},
        )
        await session.commit()
    return event


@dataclass
class World:
    """The API, the test's transaction, a real receiver, an HTTP client and a clock."""

    client: httpx.AsyncClient
    session: AsyncSession
    sessions: async_sessionmaker[AsyncSession]
    tokens: Tokens
    receiver: Receiver
    http: httpx.AsyncClient
    clock: MovableClock

    def partner(self, org: str = "baznas-7303") -> dict[str, str]:
        """BAZNAS Bantaeng's API account (or another organisation's)."""
        return self.tokens(role="partner", jurisdiction="7303", sub=f"{org}-api", org=org)

    async def subscribe(
        self,
        url: str | None = None,
        event_types: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Subscribe through the API (the partner's, to the receiver, by default)."""
        response = await self.client.post(
            "/api/v1/webhooks",
            json={
                "url": url or self.receiver.url,
                "secret": SECRET,
                "event_types": event_types or ["referral.*"],
            },
            headers=headers or self.partner(),
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def emit(self, **fields: Any) -> OutboxEvent:
        """Emit and commit one event in the test's transaction."""
        return await emit_event(self.sessions, **fields)

    def dispatcher(self, **overrides: Any) -> Dispatcher:
        """A dispatcher in the test's transaction, on the moved clock."""
        return dispatcher(self.sessions, self.http, self.clock, **overrides)

    async def deliveries(self, hook: dict[str, Any], **params: str) -> list[dict[str, Any]]:
        """The partner's view of a subscription's delivery log."""
        response = await self.client.get(
            f"/api/v1/webhooks/{hook['id']}/deliveries", params=params, headers=self.partner()
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def attempt_log(self, hook: dict[str, Any], delivery_id: str) -> list[dict[str, Any]]:
        """Every attempt of one delivery, as the partner sees it."""
        response = await self.client.get(
            f"/api/v1/webhooks/{hook['id']}/deliveries/{delivery_id}", headers=self.partner()
        )
        log: list[dict[str, Any]] = response.json()["attempt_log"]
        return log

    async def count(self, table: type[Any]) -> int:
        """Rows of a table in the test's transaction."""
        return int(await self.session.scalar(select(func.count()).select_from(table)) or 0)


@pytest.fixture
async def w(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    session: AsyncSession,
    tokens: Tokens,
) -> AsyncIterator[World]:
    with running_receiver() as receiver:
        async with webhook_client(ReferralSettings(webhook_allow_networks=LOOPBACK)) as http:
            yield World(
                client,
                session,
                savepoint_sessions(connection),
                tokens,
                receiver,
                http,
                MovableClock(),
            )


async def test_events_reach_a_real_receiver_signed_and_only_where_they_belong(w: World) -> None:
    baznas = await w.subscribe(f"{w.receiver.url}/baznas")
    office = await w.subscribe(
        f"{w.receiver.url}/office",
        ["referral.*", "case.created"],
        headers=w.tokens(role="manager"),
    )
    ours = await w.emit()
    await w.emit(organization="bank-sulselbar", region="7303012002")
    await w.emit(organization="baznas-7310", region="7310010001")
    case = await w.emit(type="case.created", organization=None)
    await w.emit(type="case.updated", organization=None)

    assert await w.dispatcher().run_until_idle() == 4

    by_path: dict[str, list[Any]] = {}
    for request in w.receiver.received:
        by_path.setdefault(request.path, []).append(request)
    # BAZNAS gets the one referral addressed to it, and no case event (no organisation).
    assert [r.json["id"] for r in by_path["/baznas"]] == [str(ours.id)]
    # The office gets what happened within 7303 that it asked for, whoever the receiver.
    assert sorted(r.json["type"] for r in by_path["/office"]) == [
        "case.created",
        "referral.accepted",
        "referral.accepted",
    ]
    assert str(case.id) in {r.event_id for r in by_path["/office"]}
    assert office["organization"] is None and office["jurisdiction"] == "7303"

    request = by_path["/baznas"][0]
    assert request.json == {
        "id": str(ours.id),
        "type": "referral.accepted",
        "occurred_at": ours.occurred_at.isoformat().replace("+00:00", "Z"),
        "organization": "baznas-7303",
        "region": VILLAGE,
        "subject": {"type": "referral", "id": str(ours.subject_id)},
        "data": {"status": "accepted", "from": "requested", "to": "accepted"},
    }
    assert request.headers["selaras-event-id"] == str(ours.id)
    assert request.headers["selaras-event-type"] == "referral.accepted"
    assert request.headers["selaras-delivery-attempt"] == "1"
    timestamp = int(request.headers["selaras-timestamp"])
    assert timestamp == int(w.clock.now.timestamp())
    signature = request.headers["selaras-signature"]
    assert signature.startswith(f"t={timestamp},v1=")
    now = w.clock.now.timestamp()
    assert verify(SECRET, signature, request.body, now=now)
    # A receiver refuses a tampered body, a wrong secret and a stale capture.
    assert not verify(SECRET, signature, request.body.replace(b"accepted", b"rejected"), now=now)
    assert not verify("another-secret-0123456789", signature, request.body, now=now)
    assert not verify(SECRET, signature, request.body, now=now + 301)

    [delivery] = await w.deliveries(baznas)
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == (
        "delivered",
        1,
        200,
    )
    assert delivery["event_id"] == str(ours.id)
    assert [a["status_code"] for a in await w.attempt_log(baznas, delivery["id"])] == [200]
    # Nothing is sent twice: the next round finds nothing due.
    assert await w.dispatcher().run_until_idle() == 0


async def test_retries_follow_the_backoff_schedule_with_the_same_event_id(w: World) -> None:
    hook = await w.subscribe()
    event = await w.emit()
    w.receiver.status = lambda n: 500 if n <= 3 else 200
    run = w.dispatcher()

    assert await run.run_until_idle() == 1  # attempt 1: 500, next in 10 s
    for wait, expected in [(9.9, 0), (0.1, 1), (19.9, 0), (0.1, 1), (24.9, 0), (0.1, 1)]:
        w.clock.advance(wait)  # 10 s, then 20 s, then the 25 s cap
        assert await run.run_until_idle() == expected, wait

    received = w.receiver.received
    assert [r.event_id for r in received] == [str(event.id)] * 4
    assert [r.headers["selaras-delivery-attempt"] for r in received] == ["1", "2", "3", "4"]
    for request in received:
        now = float(request.headers["selaras-timestamp"])
        assert verify(SECRET, request.headers["selaras-signature"], request.body, now=now)
    [delivery] = await w.deliveries(hook)
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 4)
    log = await w.attempt_log(hook, delivery["id"])
    assert [a["status_code"] for a in log] == [500, 500, 500, 200]
    assert [a["attempt_no"] for a in log] == [1, 2, 3, 4]


def test_backoff_doubles_up_to_the_cap_and_jitter_only_shortens() -> None:
    exact = Backoff(base=10, cap=25, jitter=0, max_attempts=5)
    rng = random.Random(1)
    assert [exact.delay(n, rng).total_seconds() for n in (1, 2, 3, 4, 80)] == [10, 20, 25, 25, 25]
    jittered = Backoff(base=10, cap=3600, jitter=0.2, max_attempts=5)
    delays = [jittered.delay(3, rng).total_seconds() for _ in range(200)]
    assert all(32 <= d <= 40 for d in delays)
    assert len(set(delays)) > 100  # spread out, not one value


async def test_a_receiver_that_is_down_loses_nothing(w: World) -> None:
    down = Receiver(free_port())  # nothing listens on its port yet
    hook = await w.subscribe(down.url)
    events = [await w.emit() for _ in range(5)]
    run = w.dispatcher()

    assert await run.run_until_idle() == 5
    w.clock.advance(10)
    assert await run.run_until_idle() == 5
    waiting = await w.deliveries(hook, status="pending")
    assert len(waiting) == 5
    assert {d["last_status_code"] for d in waiting} == {None}
    assert all("Connect" in d["last_error"] for d in waiting)

    down.start()  # the receiver comes back
    try:
        w.clock.advance(20)
        assert await run.run_until_idle() == 5
    finally:
        down.stop()
    assert sorted(r.event_id for r in down.delivered()) == sorted(str(e.id) for e in events)
    assert {r.headers["selaras-delivery-attempt"] for r in down.received} == {"3"}
    w.clock.advance(3600)
    assert await run.run_until_idle() == 0


async def test_500_and_timeouts_are_failed_attempts(w: World) -> None:
    hook = await w.subscribe()
    await w.emit()

    def too_slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer in time", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(too_slow)) as slow:
        assert await dispatcher(w.sessions, slow, w.clock).run_until_idle() == 1
    w.receiver.status = lambda _n: 503
    w.clock.advance(10)
    assert await w.dispatcher().run_until_idle() == 1

    [delivery] = await w.deliveries(hook)
    assert delivery["status"] == "pending" and delivery["attempts"] == 2
    log = await w.attempt_log(hook, delivery["id"])
    assert log[0]["status_code"] is None and log[0]["error"] == "timeout: ReadTimeout"
    assert log[1]["status_code"] == 503 and log[1]["error"] == "HTTP 503"
    expected_next = w.clock.now + timedelta(seconds=20)
    assert delivery["next_attempt_at"] == expected_next.isoformat().replace("+00:00", "Z")


async def test_dead_after_max_attempts_then_replay_delivers_the_same_event(w: World) -> None:
    hook = await w.subscribe()
    first = await w.emit()
    second = await w.emit()
    w.receiver.status = lambda _n: 500
    run = w.dispatcher(webhook_max_attempts=3)
    for _ in range(5):
        await run.run_until_idle()
        w.clock.advance(3600)
    assert len(w.receiver.received) == 6  # 3 attempts each, then no more

    dead = await w.deliveries(hook, status="failed")
    assert [d["event_id"] for d in dead] == [str(second.id), str(first.id)]
    assert all(d["next_attempt_at"] is None for d in dead)

    w.receiver.status = lambda _n: 200
    base = f"/api/v1/webhooks/{hook['id']}"
    replayed = await w.client.post(f"{base}/deliveries/{dead[1]['id']}/replay", headers=w.partner())
    assert replayed.status_code == 200
    assert (replayed.json()["status"], replayed.json()["event_id"]) == ("pending", str(first.id))
    assert await run.run_until_idle() == 1
    bulk = await w.client.post(f"{base}/replay", json={"status": "failed"}, headers=w.partner())
    assert bulk.json() == {"queued": 1}
    assert await run.run_until_idle() == 1
    delivered = w.receiver.delivered()
    assert sorted(r.event_id for r in delivered) == sorted([str(first.id), str(second.id)])
    # A replay gets a full set of attempts again; its log goes on from attempt 4.
    assert [r.headers["selaras-delivery-attempt"] for r in delivered] == ["4", "4"]
    assert len(await w.deliveries(hook, status="delivered")) == 2


async def test_bulk_replay_takes_only_events_in_the_window(w: World) -> None:
    hook = await w.subscribe()
    early = await w.emit()
    late = await w.emit()
    run = w.dispatcher()
    assert await run.run_until_idle() == 2

    body = {"status": "delivered", "since": late.occurred_at.isoformat()}
    replayed = await w.client.post(
        f"/api/v1/webhooks/{hook['id']}/replay", json=body, headers=w.partner()
    )
    assert replayed.json() == {"queued": 1}
    assert await run.run_until_idle() == 1
    # The first two went out together (in either order); the replay only the late one.
    first_round = sorted(r.event_id for r in w.receiver.received[:2])
    assert first_round == sorted([str(early.id), str(late.id)])
    assert [r.event_id for r in w.receiver.received[2:]] == [str(late.id)]


async def test_a_rolled_back_change_sends_nothing(w: World) -> None:
    await w.subscribe()
    async with w.sessions() as failed:
        await emit(
            failed,
            type="referral.accepted",
            subject_type="referral",
            subject_id=uuid.uuid4(),
            region=VILLAGE,
            organization="baznas-7303",
            data={},
        )
        await failed.rollback()

    assert await w.dispatcher().run_until_idle() == 0
    assert w.receiver.received == []
    assert await w.count(WebhookDelivery) == 0


async def test_paused_subscriptions_hold_deliveries_and_deleted_ones_drop_them(
    w: World,
) -> None:
    hook = await w.subscribe()
    queued = await w.emit()
    url = f"/api/v1/webhooks/{hook['id']}"
    paused = await w.client.patch(
        url, json={"active": False}, headers={**w.partner(), "If-Match": '"1"'}
    )
    assert paused.status_code == 200
    await w.emit()  # while paused: not subscribed

    run = w.dispatcher()
    assert await run.run_until_idle() == 0
    await w.client.patch(url, json={"active": True}, headers={**w.partner(), "If-Match": '"2"'})
    assert await run.run_until_idle() == 1
    assert [r.event_id for r in w.receiver.received] == [str(queued.id)]

    await w.emit()
    assert (await w.client.delete(url, headers=w.partner())).status_code == 204
    assert await run.run_until_idle() == 0
    assert await w.count(WebhookDelivery) == 0
    assert await w.count(WebhookAttempt) == 0


async def test_a_crashed_dispatchers_claim_runs_out_and_its_late_answer_is_ignored(
    w: World,
) -> None:
    hook = await w.subscribe()
    event = await w.emit()
    crashed = w.dispatcher(webhook_lease_seconds=60)
    [claimed] = await crashed.claim()  # ... and never comes back

    other = w.dispatcher(webhook_lease_seconds=60)
    assert await other.run_until_idle() == 0  # still claimed: not sent twice at once
    w.clock.advance(60)
    assert await other.run_until_idle() == 1
    late = await crashed.send(claimed)
    await crashed.record([(claimed, late)])

    assert [r.event_id for r in w.receiver.received] == [str(event.id)] * 2
    [delivery] = await w.deliveries(hook)
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 1)
    assert len(await w.attempt_log(hook, delivery["id"])) == 1


async def test_a_replay_or_delete_while_sending_wins_over_the_send(w: World) -> None:
    hook = await w.subscribe()
    event = await w.emit()
    run = w.dispatcher()
    w.receiver.status = lambda _n: 500
    [claimed] = await run.claim()
    base = f"/api/v1/webhooks/{hook['id']}"
    replay = await w.client.post(
        f"{base}/deliveries/{claimed.delivery_id}/replay", headers=w.partner()
    )
    assert replay.json()["status"] == "pending"
    await run.record([(claimed, await run.send(claimed))])  # its 500 no longer counts
    w.receiver.status = lambda _n: 200
    assert await run.run_until_idle() == 1  # the replay is due at once, not in 10 s
    assert [r.event_id for r in w.receiver.delivered()] == [str(event.id)]

    second = await w.emit()
    [claimed] = await run.claim()
    assert claimed.event.id == second.id
    assert (await w.client.delete(base, headers=w.partner())).status_code == 204
    await run.record([(claimed, await run.send(claimed))])
    assert await w.count(WebhookAttempt) == 0


async def test_retries_of_one_batch_each_keep_their_own_jittered_time(w: World) -> None:
    await w.subscribe()
    for _ in range(6):
        await w.emit()
    w.receiver.status = lambda n: 200 if n == 1 else 500
    assert await w.dispatcher(webhook_backoff_jitter=0.5).run_until_idle() == 6

    rows = (await w.session.scalars(select(WebhookDelivery))).all()
    for row in rows:
        await w.session.refresh(row)
    assert sorted(r.status for r in rows) == ["delivered"] + ["pending"] * 5
    now = w.clock.now
    waits = [(r.next_attempt_at - now).total_seconds() for r in rows if r.status == "pending"]
    assert all(5 <= wait <= 10 for wait in waits) and len(set(waits)) == 5
    assert {r.attempts for r in rows} == {1}


def test_a_claim_must_outlast_the_slowest_batch() -> None:
    with pytest.raises(ValueError, match="webhook_lease_seconds"):
        ReferralSettings(
            webhook_batch_size=100,
            webhook_concurrency=10,
            webhook_timeout_seconds=6,
            webhook_lease_seconds=60,
        )
    assert ReferralSettings(webhook_lease_seconds=61, webhook_timeout_seconds=15)


async def test_a_delivery_to_an_internal_address_is_refused_and_logged(w: World) -> None:
    # Subscribed while this machine's addresses were allowed; the dispatcher now runs
    # with the default policy (public addresses only), as a deployment does.
    hook = await w.subscribe(f"{w.receiver.url}/in")
    await w.emit()
    async with webhook_client(ReferralSettings()) as guarded:
        sent = await dispatcher(w.sessions, guarded, w.clock).run_once()
    assert sent == 1
    assert w.receiver.received == []
    [delivery] = await w.deliveries(hook)
    assert delivery["status"] == "pending"
    [attempt] = await w.attempt_log(hook, delivery["id"])
    assert attempt["status_code"] is None
    assert "AddressRefused" in attempt["error"]
    assert "127.0.0.1" in attempt["error"] and "not public" in attempt["error"]


async def test_a_secret_no_configured_key_opens_is_not_sent_and_says_why(w: World) -> None:
    hook = await w.subscribe(f"{w.receiver.url}/in")
    await w.emit()
    stranger = Fernet.generate_key().decode()
    assert await w.dispatcher(webhook_secret_keys=[stranger]).run_once() == 1
    assert w.receiver.received == []
    [delivery] = await w.deliveries(hook)
    [attempt] = await w.attempt_log(hook, delivery["id"])
    assert attempt["error"] == "no configured key opens this webhook secret"
    # With the key back, the retry goes out signed with the partner's secret.
    w.clock.advance(60)
    assert await w.dispatcher().run_once() == 1
    [received] = w.receiver.received
    assert verify(
        SECRET, received.headers["selaras-signature"], received.body, now=w.clock.now.timestamp()
    )
