"""Webhook dispatchers on a database of their own, with committed data: several side by
side, the one the app runs for its lifetime, and the `deliver` command."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from selaras_referral.app import create_app
from selaras_referral.cli import MIGRATIONS, deliver
from selaras_referral.models.webhooks import WebhookDelivery, WebhookSubscription
from selaras_referral.settings import ReferralSettings
from selaras_shared.db import make_engine, make_sessionmaker
from selaras_shared.migrations import upgrade_async
from tests.referral.test_webhooks_delivery import SECRET, dispatcher, emit_event
from tests.referral.webhooks_support import LOOPBACK, MovableClock, Receiver, running_receiver
from tests.support import AUTH


@pytest.fixture(scope="module")
async def own_database(databases: Any) -> str:
    url: str = await databases.new("referral_dispatch")
    await upgrade_async(MIGRATIONS, url)
    return url


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


async def subscribe_directly(
    sessions: async_sessionmaker[AsyncSession], url: str, organization: str
) -> WebhookSubscription:
    """A committed subscription; each test here uses its own organisation, so that it
    sees only its own events on the shared database."""
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


async def statuses(url: str, subscription: WebhookSubscription) -> Counter[str]:
    """How many of a subscription's deliveries are in each status."""
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            rows = await session.scalars(
                select(col(WebhookDelivery.status)).where(
                    col(WebhookDelivery.subscription_id) == subscription.id
                )
            )
            return Counter(rows)
    finally:
        await engine.dispose()


async def test_concurrent_dispatchers_never_send_a_delivery_twice(
    own_database: str, receiver: Receiver
) -> None:
    engines = [make_engine(own_database, pool_size=2) for _ in range(3)]
    clock = MovableClock()
    try:
        writer = make_sessionmaker(engines[0])
        subscription = await subscribe_directly(writer, receiver.url, "org-concurrent")
        events = [await emit_event(writer, organization="org-concurrent") for _ in range(60)]
        async with httpx.AsyncClient() as http:
            runs = [
                dispatcher(make_sessionmaker(e), http, clock, webhook_batch_size=4) for e in engines
            ]
            sent = await asyncio.gather(*(run.run_until_idle() for run in runs))
    finally:
        for engine in engines:
            await engine.dispose()
    assert sum(sent) == 60
    assert sum(1 for n in sent if n > 0) >= 2  # they did share the work
    assert Counter(r.event_id for r in receiver.received) == Counter({str(e.id): 1 for e in events})
    assert await statuses(own_database, subscription) == {"delivered": 60}


async def test_the_app_runs_a_dispatcher_for_its_lifetime(
    own_database: str, receiver: Receiver
) -> None:
    delivered = asyncio.Event()
    loop = asyncio.get_running_loop()
    receiver.status = lambda _n: (loop.call_soon_threadsafe(delivered.set), 204)[1]
    settings = ReferralSettings(
        database_url=own_database, webhook_poll_seconds=0.05, webhook_allow_networks=LOOPBACK
    )
    app = create_app(settings, AUTH)
    async with app.router.lifespan_context(app):
        subscription = await subscribe_directly(app.state.sessionmaker, receiver.url, "org-app")
        event = await emit_event(app.state.sessionmaker, organization="org-app")
        await asyncio.wait_for(delivered.wait(), timeout=30)
    assert [r.event_id for r in receiver.received] == [str(event.id)]
    assert await statuses(own_database, subscription) == {"delivered": 1}


async def test_the_deliver_command_sends_what_is_due(own_database: str, receiver: Receiver) -> None:
    engine = make_engine(own_database)
    try:
        writer = make_sessionmaker(engine)
        await subscribe_directly(writer, receiver.url, "org-cli")
        events = [await emit_event(writer, organization="org-cli") for _ in range(3)]
    finally:
        await engine.dispose()
    settings = ReferralSettings(database_url=own_database, webhook_allow_networks=LOOPBACK)
    assert await deliver(settings, once=True) == 3
    assert sorted(r.event_id for r in receiver.received) == sorted(str(e.id) for e in events)
    assert await deliver(settings, once=True) == 0
