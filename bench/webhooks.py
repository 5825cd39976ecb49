"""Benchmark: webhook delivery of 10,000 events to a receiver that fails 30% of requests.

On PostgreSQL: the events are emitted through `events.emit` (which queues one delivery per
event for a partner's subscription), a receiver process on loopback answers 500 to 30% of
requests (random, seeded) and records every (event id, attempt, answer) it gets, and the
referral service's dispatchers (two, as two replicas would) run until nothing is pending.
Checks that every event was delivered, none lost, and that any event seen more than once
came only as retries carrying the same event id. The baseline, in the same run, is the same
receiver hit directly with 10,000 POSTs by a plain httpx loop at the same concurrency.

    .tools/bin/uv run python bench/webhooks.py [--events 10000] [--fail-rate 0.3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from collections import defaultdict
from typing import Any

import httpx
from common import PYTHON, drop_database, free_port, fresh_database, served
from sqlalchemy import func, select
from sqlmodel import col

from selaras_referral.cli import migrate
from selaras_referral.egress import webhook_client
from selaras_referral.events import emit
from selaras_referral.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookSubscription
from selaras_referral.service.delivery import Dispatcher
from selaras_referral.settings import ReferralSettings
from selaras_shared.db import make_engine, make_sessionmaker

DATABASE = "selaras_bench_webhooks"
ORGANIZATION = "baznas-7303"
SECRET = "bench-webhook-secret-0123456789"


# --- the receiver (a separate process: `webhooks.py --receiver PORT SEED RATE`) ----------


def receiver_app(seed: int, fail_rate: float) -> Any:
    """A bare ASGI receiver: POST answers 500 with probability `fail_rate`, else 200, and
    records (event id, attempt, answer); GET /log returns and clears the record."""
    rng = random.Random(seed)
    log: list[tuple[str, str, int]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:  # drain the body
            message = await receive()
            more = message.get("more_body", False)
        status, body = 200, b""
        if scope["method"] == "POST":
            headers = dict(scope["headers"])
            status = 500 if rng.random() < fail_rate else 200
            log.append(
                (
                    headers.get(b"selaras-event-id", b"").decode(),
                    headers.get(b"selaras-delivery-attempt", b"0").decode(),
                    status,
                )
            )
        elif scope["path"] == "/log":
            body = json.dumps(log).encode()
            log.clear()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


def run_receiver(port: int, seed: int, fail_rate: float) -> None:
    """Serve the receiver until terminated."""
    import uvicorn

    uvicorn.run(
        receiver_app(seed, fail_rate),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )


# --- the benchmark ------------------------------------------------------------------------


async def emit_events(sessions: Any, count: int, url: str) -> list[str]:
    """One partner subscription, then `count` referral events (500 per transaction)."""
    async with sessions() as session:
        session.add(
            WebhookSubscription(
                url=url,
                secret=SECRET,
                event_types=["referral.*"],
                organization=ORGANIZATION,
                jurisdiction="7303",
                created_by="bench",
            )
        )
        await session.commit()
    ids: list[str] = []
    for start in range(0, count, 500):
        async with sessions() as session:
            for _ in range(start, min(count, start + 500)):
                event = await emit(
                    session,
                    type="referral.accepted",
                    subject_type="referral",
                    subject_id=uuid.uuid4(),
                    region="7303012001",
                    organization=ORGANIZATION,
                    data={"status": "accepted", "from": "requested", "to": "accepted"},
                )
                ids.append(str(event.id))
            await session.commit()
    return ids


async def pending(sessions: Any) -> int:
    """Deliveries not yet delivered or failed."""
    async with sessions() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(WebhookDelivery)
                .where(col(WebhookDelivery.status) == "pending")
            )
            or 0
        )


async def dispatch(sessions: Any, settings: ReferralSettings, dispatchers: int) -> float:
    """Run dispatchers until nothing is pending; returns the seconds taken."""
    async with webhook_client(settings) as http:

        async def one() -> None:
            dispatcher = Dispatcher(sessions, http, settings)
            while True:
                if await dispatcher.run_until_idle() == 0:
                    if await pending(sessions) == 0:
                        return
                    await asyncio.sleep(settings.webhook_backoff_base_seconds / 2)

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(dispatchers)))
        return time.perf_counter() - started


async def baseline(url: str, count: int, concurrency: int) -> float:
    """The same receiver hit directly with `count` POSTs of a like body."""
    body = json.dumps({"id": str(uuid.uuid4()), "type": "referral.accepted", "data": {}}).encode()
    limits = httpx.Limits(max_connections=concurrency)
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(limits=limits) as http:

        async def post(i: int) -> None:
            async with gate:
                await http.post(
                    url,
                    content=body,
                    headers={"Selaras-Event-Id": f"baseline-{i}", "Selaras-Delivery-Attempt": "1"},
                )

        started = time.perf_counter()
        await asyncio.gather(*(post(i) for i in range(count)))
        return time.perf_counter() - started


def check(ids: list[str], log: list[tuple[str, str, int]]) -> tuple[int, int]:
    """Every event delivered once, nothing unknown, duplicates only as retries of the
    same event id; returns (requests, events received more than once)."""
    by_event: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for event_id, attempt, status in log:
        by_event[event_id].append((int(attempt), status))
    unknown = set(by_event) - set(ids)
    lost = [i for i in ids if not any(s == 200 for _, s in by_event.get(i, []))]
    twice_ok = [i for i, seen in by_event.items() if sum(s == 200 for _, s in seen) > 1]
    not_retries = [
        i
        for i, seen in by_event.items()
        if sorted(a for a, _ in seen) != list(range(1, len(seen) + 1))
        or any(s != 500 for _, s in sorted(seen)[:-1])
    ]
    assert not unknown, f"{len(unknown)} unknown event ids received"
    assert not lost, f"{len(lost)} events never delivered"
    assert not twice_ok, f"{len(twice_ok)} events acknowledged twice"
    assert not not_retries, f"{len(not_retries)} events received other than as retries"
    return len(log), sum(1 for seen in by_event.values() if len(seen) > 1)


async def main_async(args: argparse.Namespace) -> None:
    url = await fresh_database(DATABASE)
    try:
        settings = ReferralSettings(
            database_url=url,
            webhook_backoff_base_seconds=0.05,
            webhook_backoff_cap_seconds=1.0,
            webhook_backoff_jitter=0.2,
            webhook_max_attempts=40,
            webhook_batch_size=args.batch,
            webhook_concurrency=args.concurrency,
            webhook_timeout_seconds=5,
            webhook_lease_seconds=600,
            webhook_allow_networks=["127.0.0.0/8"],  # the receiver is on this machine
        )
        await asyncio.to_thread(migrate, settings)
        engine = make_engine(url, pool_size=4)
        sessions = make_sessionmaker(engine)
        port = free_port()
        receiver = [PYTHON, __file__, "--receiver", str(port), str(args.seed), str(args.fail_rate)]
        with served(receiver, port, ready="/log"):
            started = time.perf_counter()
            ids = await emit_events(sessions, args.events, f"http://127.0.0.1:{port}/hooks")
            emitted = time.perf_counter() - started
            elapsed = await dispatch(sessions, settings, args.dispatchers)
            async with httpx.AsyncClient() as http:
                got = (await http.get(f"http://127.0.0.1:{port}/log")).json()
            log = [(str(e), str(a), int(s)) for e, a, s in got]
            requests, retried = check(ids, log)
            async with sessions() as session:
                statuses = dict(
                    (
                        await session.execute(
                            select(col(WebhookDelivery.status), func.count()).group_by(
                                col(WebhookDelivery.status)
                            )
                        )
                    ).all()
                )
                attempts = await session.scalar(select(func.count()).select_from(WebhookAttempt))
            assert statuses == {"delivered": args.events}, statuses
            assert attempts == requests, (attempts, requests)
            bare = await baseline(f"http://127.0.0.1:{port}/hooks", args.events, args.concurrency)
        await engine.dispose()
    finally:
        await drop_database(DATABASE)

    rate = args.events / elapsed
    print(
        f"webhooks: {args.events} events, receiver failing {args.fail_rate:.0%} (seed {args.seed})"
    )
    print(f"  emitted through events.emit in {emitted:.1f} s ({args.events / emitted:,.0f}/s)")
    print(
        f"  delivered all {args.events} in {elapsed:.1f} s: {rate:,.0f} deliveries/s, "
        f"{requests} attempts ({requests / args.events:.2f} per event), "
        f"{retried} events retried (same event id), none lost, none acknowledged twice"
    )
    print(
        f"  baseline: {args.events} plain httpx POSTs to the same receiver in {bare:.1f} s "
        f"({args.events / bare:,.0f}/s)"
    )
    print(
        f"  ratio: {elapsed / bare:.1f}x the baseline's time "
        f"({(requests / elapsed) / (args.events / bare):.2f} of its request rate)"
    )


def main() -> None:
    """Entry point (or the receiver process, with --receiver)."""
    if len(sys.argv) > 1 and sys.argv[1] == "--receiver":
        run_receiver(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--fail-rate", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--batch", type=int, default=100, help="deliveries claimed at a time")
    parser.add_argument("--concurrency", type=int, default=8, help="POSTs in flight at once")
    parser.add_argument("--dispatchers", type=int, default=2)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
