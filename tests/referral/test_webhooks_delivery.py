"""Webhook delivery from the outbox: signed POSTs to a real loopback receiver, retries with
backoff on a moved clock, outages, dead deliveries and replay, partner boundaries,
transactions, and dispatchers running side by side."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlmodel import col

from selaras_referral.app import create_app
from selaras_referral.cli import MIGRATIONS, deliver
from selaras_referral.events import emit
from selaras_referral.models.outbox import OutboxEvent
from selaras_referral.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookSubscription
from selaras_referral.service.delivery import Backoff, Dispatcher, verify
from selaras_referral.settings import ReferralSettings
from selaras_shared.db import make_engine, make_sessionmaker
from selaras_shared.migrations import upgrade_async
from tests.referral.conftest import AUTH, Tokens
from tests.referral.webhooks_support import MovableClock, Receiver, free_port, running_receiver
from tests.support import savepoint_sessions

SECRET = "partner-secret-0123456789"
VILLAGE = "7303012001"
TUNED: dict[str, Any] = {
    "webhook_backoff_base_seconds": 10,
    "webhook_backoff_cap_seconds": 25,
    "webhook_backoff_jitter": 0,
    "webhook_max_attempts": 5,
    "webhook_timeout_seconds": 2,
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


def dispatcher(
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    clock: MovableClock,
    **overrides: Any,
) -> Dispatcher:
    settings = ReferralSettings(**{**TUNED, **overrides})
    return Dispatcher(sessions, http, settings, clock=clock, rng=random.Random(7))


async def subscribe(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    url: str,
    event_types: list[str] | None = None,
    secret: str = SECRET,
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/webhooks",
        json={"url": url, "secret": secret, "event_types": event_types or ["referral.*"]},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def emit_event(
    sessions: async_sessionmaker[AsyncSession],
    *,
    type: str = "referral.accepted",
    organization: str | None = "baznas-7303",
    region: str = VILLAGE,
) -> OutboxEvent:
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


def partner(tokens: Tokens, org: str = "baznas-7303") -> dict[str, str]:
    return tokens(role="partner", jurisdiction="7303", sub=f"{org}-api", org=org)


async def test_events_reach_a_real_receiver_signed_and_only_where_they_belong(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    session: AsyncSession,
    tokens: Tokens,
    receiver: Receiver,
    http: httpx.AsyncClient,
    clock: MovableClock,
) -> None:
    sessions = savepoint_sessions(connection)
    baznas = await subscribe(client, partner(tokens), f"{receiver.url}/baznas")
    office = await subscribe(
        client, tokens(role="manager"), f"{receiver.url}/office", ["referral.*", "case.created"]
    )
    ours = await emit_event(sessions)
    await emit_event(sessions, organization="bank-sulselbar", region="7303012002")
    await emit_event(sessions, organization="baznas-7310", region="7310010001")
    case = await emit_event(sessions, type="case.created", organization=None)
    await emit_event(sessions, type="case.updated", organization=None)

    assert await dispatcher(sessions, http, clock).run_until_idle() == 4

    by_path: dict[str, list[Any]] = {}
    for request in receiver.received:
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
    assert timestamp == int(clock.now.timestamp())
    signature = request.headers["selaras-signature"]
    assert signature.startswith(f"t={timestamp},v1=")
    now = clock.now.timestamp()
    assert verify(SECRET, signature, request.body, now=now)
    # A receiver refuses a tampered body, a wrong secret and a stale capture.
    assert not verify(SECRET, signature, request.body.replace(b"accepted", b"rejected"), now=now)
    assert not verify("another-secret-0123456789", signature, request.body, now=now)
    assert not verify(SECRET, signature, request.body, now=now + 301)

    delivery = (
        await session.scalars(
            select(WebhookDelivery).where(
                col(WebhookDelivery.subscription_id) == uuid.UUID(baznas["id"])
            )
        )
    ).one()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    log = await client.get(
        f"/api/v1/webhooks/{baznas['id']}/deliveries/{delivery.id}", headers=partner(tokens)
    )
    assert log.json()["attempt_log"][0]["status_code"] == 200
    assert log.json()["status"] == "delivered" and log.json()["event_id"] == str(ours.id)
    assert office["organization"] is None and office["jurisdiction"] == "7303"
    # Nothing is sent twice: the next round finds nothing due.
    assert await dispatcher(sessions, http, clock).run_until_idle() == 0


async def test_retries_follow_the_backoff_schedule_with_the_same_event_id(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    tokens: Tokens,
    receiver: Receiver,
    http: httpx.AsyncClient,
    clock: MovableClock,
) -> None:
    sessions = savepoint_sessions(connection)
    hook = await subscribe(client, partner(tokens), receiver.url)
    event = await emit_event(sessions)
    receiver.status = lambda n: 500 if n <= 3 else 200
    run = dispatcher(sessions, http, clock)

    assert await run.run_until_idle() == 1  # attempt 1: 500, next in 10 s
    for wait, expected in [(9.9, 0), (0.1, 1), (19.9, 0), (0.1, 1), (24.9, 0), (0.1, 1)]:
        clock.advance(wait)  # 10 s, then 20 s, then the 25 s cap
        assert await run.run_until_idle() == expected, wait

    assert [r.event_id for r in receiver.received] == [str(event.id)] * 4
    assert [r.headers["selaras-delivery-attempt"] for r in receiver.received] == [
        "1",
        "2",
        "3",
        "4",
    ]
    for request in receiver.received:
        now = float(request.headers["selaras-timestamp"])
        assert verify(SECRET, request.headers["selaras-signature"], request.body, now=now)
    page = await client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=partner(tokens))
    [delivery] = page.json()["items"]
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 4)
    detail = await client.get(
        f"/api/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}", headers=partner(tokens)
    )
    assert [a["status_code"] for a in detail.json()["attempt_log"]] == [500, 500, 500, 200]
    assert [a["attempt_no"] for a in detail.json()["attempt_log"]] == [1, 2, 3, 4]


def test_backoff_doubles_up_to_the_cap_and_jitter_only_shortens() -> None:
    exact = Backoff(base=10, cap=25, jitter=0, max_attempts=5)
    rng = random.Random(1)
    assert [exact.delay(n, rng).total_seconds() for n in (1, 2, 3, 4, 80)] == [10, 20, 25, 25, 25]
    jittered = Backoff(base=10, cap=3600, jitter=0.2, max_attempts=5)
    delays = [jittered.delay(3, rng).total_seconds() for _ in range(200)]
    assert all(32 <= d <= 40 for d in delays)
    assert len(set(delays)) > 100  # spread out, not one value


async def test_a_receiver_that_is_down_loses_nothing(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    tokens: Tokens,
    http: httpx.AsyncClient,
    clock: MovableClock,
) -> None:
    sessions = savepoint_sessions(connection)
    down = Receiver(free_port())  # nothing listens on its port yet
    hook = await subscribe(client, partner(tokens), down.url)
    events = [await emit_event(sessions) for _ in range(5)]
    run = dispatcher(sessions, http, clock)

    assert await run.run_until_idle() == 5
    clock.advance(10)
    assert await run.run_until_idle() == 5
    failed = await client.get(
        f"/api/v1/webhooks/{hook['id']}/deliveries",
        params={"status": "pending"},
        headers=partner(tokens),
    )
    assert len(failed.json()["items"]) == 5
    assert {d["last_status_code"] for d in failed.json()["items"]} == {None}
    assert all("Connect" in d["last_error"] for d in failed.json()["items"])

    down.start()  # the receiver comes back
    try:
        clock.advance(20)
        assert await run.run_until_idle() == 5
    finally:
        down.stop()
    assert sorted(r.event_id for r in down.delivered()) == sorted(str(e.id) for e in events)
    assert {r.headers["selaras-delivery-attempt"] for r in down.received} == {"3"}
    clock.advance(3600)
    assert await run.run_until_idle() == 0


async def test_500_and_timeouts_are_failed_attempts(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    session: AsyncSession,
    tokens: Tokens,
    receiver: Receiver,
    clock: MovableClock,
) -> None:
    sessions = savepoint_sessions(connection)
    hook = await subscribe(client, partner(tokens), receiver.url)
    await emit_event(sessions)

    def too_slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer in time", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(too_slow)) as slow:
        assert await dispatcher(sessions, slow, clock).run_until_idle() == 1
    receiver.status = lambda _n: 503
    clock.advance(10)
    async with httpx.AsyncClient() as real:
        assert await dispatcher(sessions, real, clock).run_until_idle() == 1

    page = await client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=partner(tokens))
    [delivery] = page.json()["items"]
    assert delivery["status"] == "pending" and delivery["attempts"] == 2
    detail = await client.get(
        f"/api/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}", headers=partner(tokens)
    )
    log = detail.json()["attempt_log"]
    assert log[0]["status_code"] is None and log[0]["error"] == "timeout: ReadTimeout"
    assert log[1]["status_code"] == 503 and log[1]["error"] == "HTTP 503"
    expected_next = clock.now + timedelta(seconds=20)
    assert delivery["next_attempt_at"] == expected_next.isoformat().replace("+00:00", "Z")


async def test_dead_after_max_attempts_then_replay_delivers_the_same_event(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    tokens: Tokens,
    receiver: Receiver,
    http: httpx.AsyncClient,
    clock: MovableClock,
) -> None:
    sessions = savepoint_sessions(connection)
    hook = await subscribe(client, partner(tokens), receiver.url)
    first = await emit_event(sessions)
    second = await emit_event(sessions)
    receiver.status = lambda _n: 500
    run = dispatcher(sessions, http, clock, webhook_max_attempts=3)
    for _ in range(5):
        await run.run_until_idle()
        clock.advance(3600)
    assert len(receiver.received) == 6  # 3 attempts each, then no more

    base = f"/api/v1/webhooks/{hook['id']}"
    dead = await client.get(f"{base}/deliveries?status=failed", headers=partner(tokens))
    assert [d["event_id"] for d in dead.json()["items"]] == [str(second.id), str(first.id)]
    assert all(d["next_attempt_at"] is None for d in dead.json()["items"])

    receiver.status = lambda _n: 200
    one = dead.json()["items"][1]
    replayed = await client.post(f"{base}/deliveries/{one['id']}/replay", headers=partner(tokens))
    assert replayed.status_code == 200
    assert (replayed.json()["status"], replayed.json()["event_id"]) == ("pending", str(first.id))
    assert await run.run_until_idle() == 1
    bulk = await client.post(f"{base}/replay", json={"status": "failed"}, headers=partner(tokens))
    assert bulk.json() == {"queued": 1}
    assert await run.run_until_idle() == 1
    assert sorted(r.event_id for r in receiver.delivered()) == sorted(
        [str(first.id), str(second.id)]
    )
    # The replay got a full set of attempts again: its log goes on from attempt 4.
    assert [r.headers["selaras-delivery-attempt"] for r in receiver.delivered()] == ["4", "4"]
    done = await client.get(f"{base}/deliveries?status=delivered", headers=partner(tokens))
    assert len(done.json()["items"]) == 2


async def test_bulk_replay_takes_only_events_in_the_window(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    tokens: Tokens,
    receiver: Receiver,
    http: httpx.AsyncClient,
    clock: MovableClock,
) -> None:
    sessions = savepoint_sessions(connection)
    hook = await subscribe(client, partner(tokens), receiver.url)
    early = await emit_event(sessions)
    late = await emit_event(sessions)
    run = dispatcher(sessions, http, clock)
    assert await run.run_until_idle() == 2

    body = {"status": "delivered", "since": late.occurred_at.isoformat()}
    replayed = await client.post(
        f"/api/v1/webhooks/{hook['id']}/replay", json=body, headers=partner(tokens)
    )
    assert replayed.json() == {"queued": 1}
    assert await run.run_until_idle() == 1
    # The first two went out together (in either order); the replay only the late one.
    first_round = sorted(r.event_id for r in receiver.received[:2])
    assert first_round == sorted([str(early.id), str(late.id)])
    assert [r.event_id for r in receiver.received[2:]] == [str(late.id)]


async def test_a_rolled_back_change_sends_nothing(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    session: AsyncSession,
    tokens: Tokens,
    receiver: Receiver,
    http: httpx.AsyncClient,
    clock: MovableClock,
) -> None:
    sessions = savepoint_sessions(connection)
    await subscribe(client, partner(tokens), receiver.url)
    async with sessions() as failed:
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

    assert await dispatcher(sessions, http, clock).run_until_idle() == 0
    assert receiver.received == []
    assert await session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0


async def test_paused_subscriptions_hold_deliveries_and_deleted_ones_drop_them(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    session: AsyncSession,
    tokens: Tokens,
    receiver: Receiver,
    http: httpx.AsyncClient,
    clock: MovableClock,
) -> None:
    sessions = savepoint_sessions(connection)
    hook = await subscribe(client, partner(tokens), receiver.url)
    queued = await emit_event(sessions)
    url = f"/api/v1/webhooks/{hook['id']}"
    paused = await client.patch(
        url, json={"active": False}, headers={**partner(tokens), "If-Match": '"1"'}
    )
    assert paused.status_code == 200
    await emit_event(sessions)  # while paused: not subscribed

    run = dispatcher(sessions, http, clock)
    assert await run.run_until_idle() == 0
    await client.patch(url, json={"active": True}, headers={**partner(tokens), "If-Match": '"2"'})
    assert await run.run_until_idle() == 1
    assert [r.event_id for r in receiver.received] == [str(queued.id)]

    await emit_event(sessions)
    assert (await client.delete(url, headers=partner(tokens))).status_code == 204
    assert await run.run_until_idle() == 0
    assert await session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
    assert await session.scalar(select(func.count()).select_from(WebhookAttempt)) == 0


# --- several dispatchers, and the one in the app, on a database of their own -----------


@pytest.fixture(scope="module")
async def own_database(databases: Any) -> str:
    url: str = await databases.new("referral_dispatch")
    await upgrade_async(MIGRATIONS, url)
    return url


async def _subscribe_directly(
    sessions: async_sessionmaker[AsyncSession], url: str, organization: str
) -> WebhookSubscription:
    # Each test on the shared database uses its own organisation, so sees only its events.
    async with sessions() as session:
        subscription = WebhookSubscription(
            url=url,
            secret=SECRET,
            event_types=["referral.*"],
            organization=organization,
            jurisdiction="7303",
            created_by="test",
        )
        session.add(subscription)
        await session.commit()
    return subscription


async def test_concurrent_dispatchers_never_send_a_delivery_twice(
    own_database: str, receiver: Receiver, clock: MovableClock
) -> None:
    engines = [make_engine(own_database, pool_size=2) for _ in range(3)]
    try:
        writer = make_sessionmaker(engines[0])
        subscription = await _subscribe_directly(writer, receiver.url, "org-concurrent")
        events = [await emit_event(writer, organization="org-concurrent") for _ in range(60)]
        async with httpx.AsyncClient() as http:
            runs = [
                dispatcher(make_sessionmaker(e), http, clock, webhook_batch_size=4) for e in engines
            ]
            sent = await asyncio.gather(*(run.run_until_idle() for run in runs))
        assert sum(sent) == 60
        assert sum(1 for n in sent if n > 0) >= 2  # they did share the work
        counts = Counter(r.event_id for r in receiver.received)
        assert counts == Counter({str(e.id): 1 for e in events})
        async with writer() as session:
            statuses = await session.scalars(
                select(col(WebhookDelivery.status)).where(
                    col(WebhookDelivery.subscription_id) == subscription.id
                )
            )
            assert Counter(statuses) == {"delivered": 60}
    finally:
        for engine in engines:
            await engine.dispose()


async def test_the_app_runs_a_dispatcher_for_its_lifetime(
    own_database: str, receiver: Receiver
) -> None:
    delivered = asyncio.Event()
    loop = asyncio.get_running_loop()
    receiver.status = lambda _n: (loop.call_soon_threadsafe(delivered.set), 204)[1]
    settings = ReferralSettings(database_url=own_database, webhook_poll_seconds=0.05)
    app = create_app(settings, AUTH)
    async with app.router.lifespan_context(app):
        subscription = await _subscribe_directly(app.state.sessionmaker, receiver.url, "org-app")
        event = await emit_event(app.state.sessionmaker, organization="org-app")
        await asyncio.wait_for(delivered.wait(), timeout=30)
    assert [r.event_id for r in receiver.received] == [str(event.id)]
    engine = make_engine(own_database)
    try:
        async with make_sessionmaker(engine)() as session:
            status = await session.scalar(
                select(col(WebhookDelivery.status)).where(
                    col(WebhookDelivery.subscription_id) == subscription.id
                )
            )
        assert status == "delivered"
    finally:
        await engine.dispose()


async def test_the_deliver_command_sends_what_is_due(own_database: str, receiver: Receiver) -> None:
    settings = ReferralSettings(database_url=own_database)
    engine = make_engine(own_database)
    try:
        writer = make_sessionmaker(engine)
        await _subscribe_directly(writer, receiver.url, "org-cli")
        events = [await emit_event(writer, organization="org-cli") for _ in range(3)]
    finally:
        await engine.dispose()
    assert await deliver(settings, once=True) == 3
    assert sorted(r.event_id for r in receiver.received) == sorted(str(e.id) for e in events)
    assert await deliver(settings, once=True) == 0


async def test_a_crashed_dispatchers_claim_runs_out_and_its_late_answer_is_ignored(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    tokens: Tokens,
    receiver: Receiver,
    http: httpx.AsyncClient,
    clock: MovableClock,
) -> None:
    sessions = savepoint_sessions(connection)
    hook = await subscribe(client, partner(tokens), receiver.url)
    event = await emit_event(sessions)
    crashed = dispatcher(sessions, http, clock, webhook_lease_seconds=60)
    [claimed] = await crashed.claim()  # ... and never comes back

    other = dispatcher(sessions, http, clock, webhook_lease_seconds=60)
    assert await other.run_until_idle() == 0  # still claimed: not sent twice at once
    clock.advance(60)
    assert await other.run_until_idle() == 1
    late = await crashed.send(claimed)
    await crashed.record([(claimed, late)])

    assert [r.event_id for r in receiver.received] == [str(event.id)] * 2
    page = await client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=partner(tokens))
    [delivery] = page.json()["items"]
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 1)
    detail = await client.get(
        f"/api/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}", headers=partner(tokens)
    )
    assert len(detail.json()["attempt_log"]) == 1


async def test_a_replay_or_delete_while_sending_wins_over_the_send(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    session: AsyncSession,
    tokens: Tokens,
    receiver: Receiver,
    http: httpx.AsyncClient,
    clock: MovableClock,
) -> None:
    sessions = savepoint_sessions(connection)
    hook = await subscribe(client, partner(tokens), receiver.url)
    event = await emit_event(sessions)
    run = dispatcher(sessions, http, clock)
    receiver.status = lambda _n: 500
    [claimed] = await run.claim()
    base = f"/api/v1/webhooks/{hook['id']}"
    replay = await client.post(
        f"{base}/deliveries/{claimed.delivery_id}/replay", headers=partner(tokens)
    )
    assert replay.json()["status"] == "pending"
    await run.record([(claimed, await run.send(claimed))])  # its 500 no longer counts
    receiver.status = lambda _n: 200
    assert await run.run_until_idle() == 1  # the replay is due at once, not in 10 s
    assert [r.event_id for r in receiver.delivered()] == [str(event.id)]

    second = await emit_event(sessions)
    [claimed] = await run.claim()
    assert claimed.event.id == second.id
    assert (await client.delete(base, headers=partner(tokens))).status_code == 204
    await run.record([(claimed, await run.send(claimed))])
    assert await session.scalar(select(func.count()).select_from(WebhookAttempt)) == 0


async def test_retries_of_one_batch_each_keep_their_own_jittered_time(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    session: AsyncSession,
    tokens: Tokens,
    receiver: Receiver,
    http: httpx.AsyncClient,
    clock: MovableClock,
) -> None:
    sessions = savepoint_sessions(connection)
    await subscribe(client, partner(tokens), receiver.url)
    for _ in range(6):
        await emit_event(sessions)
    receiver.status = lambda n: 200 if n == 1 else 500
    run = dispatcher(sessions, http, clock, webhook_backoff_jitter=0.5)
    assert await run.run_until_idle() == 6

    rows = (await session.scalars(select(WebhookDelivery))).all()
    for row in rows:
        await session.refresh(row)
    assert sorted(r.status for r in rows) == ["delivered"] + ["pending"] * 5
    waits = [(r.next_attempt_at - clock.now).total_seconds() for r in rows if r.status == "pending"]
    assert all(5 <= w <= 10 for w in waits) and len(set(waits)) == 5
    assert {r.attempts for r in rows} == {1}
