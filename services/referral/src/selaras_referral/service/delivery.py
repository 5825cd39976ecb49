"""Webhook delivery: the signed request, the retry schedule, and the dispatcher that claims
due deliveries, POSTs them and records every attempt.

Delivery is at least once: a receiver may see an event again (a retry after its answer
was lost, a replay) and de-duplicates by the event id, which never changes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from selaras_referral.egress import webhook_client
from selaras_referral.models.outbox import OutboxEvent
from selaras_referral.models.webhooks import WebhookAttempt
from selaras_referral.repository.webhooks import Claimed, WebhookRepository
from selaras_referral.sealing import Sealer, SecretUnreadable
from selaras_referral.settings import ReferralSettings
from selaras_shared.db import utcnow

Clock = Callable[[], datetime]

SIGNATURE_HEADER = "Selaras-Signature"
USER_AGENT = "selaras-referral-webhooks/0.1"
#: How far a receiver should accept `t` from its own clock (documented advice).
SIGNATURE_TOLERANCE_SECONDS = 300

_log = logging.getLogger("selaras.webhooks")


def event_payload(event: OutboxEvent) -> dict[str, Any]:
    """The JSON body of an event as receivers get it."""
    return {
        "id": str(event.id),
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "organization": event.organization,
        "region": event.region,
        "subject": {"type": event.subject_type, "id": str(event.subject_id)},
        "data": event.data,
    }


def encode_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `Selaras-Signature` value: `t=<unix seconds>,v1=<hex HMAC-SHA256>` of
    `<t>.<body>` keyed with the subscription's secret."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: float,
    tolerance: float = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: recompute the HMAC, compare in constant time, refuse stale
    timestamps (a replayed capture)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: wait `base * 2**(n-1)`, at most `cap`, less a
    random fraction up to `jitter`, after the n-th failed attempt."""

    base: float
    cap: float
    jitter: float
    max_attempts: int

    @classmethod
    def from_settings(cls, settings: ReferralSettings) -> Backoff:
        """The schedule configured for this service."""
        return cls(
            base=settings.webhook_backoff_base_seconds,
            cap=settings.webhook_backoff_cap_seconds,
            jitter=settings.webhook_backoff_jitter,
            max_attempts=settings.webhook_max_attempts,
        )

    def delay(self, failures: int, rng: random.Random) -> timedelta:
        """How long to wait after the `failures`-th failure in a row."""
        full = min(self.cap, self.base * 2 ** min(failures - 1, 62))
        return timedelta(seconds=full * (1 - self.jitter * rng.random()))


@dataclass(frozen=True)
class Outcome:
    """What one POST came to."""

    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        """A 2xx answer, and only that, counts as delivered."""
        return self.status_code is not None and 200 <= self.status_code < 300


async def post_signed(
    http: httpx.AsyncClient,
    *,
    url: str,
    secret: str,
    payload: dict[str, Any],
    clock: Clock,
    limit_seconds: float,
    extra_headers: dict[str, str] | None = None,
) -> Outcome:
    """POST one signed event and say how it went; never raises for the receiver's faults."""
    body = encode_body(payload)
    attempted_at = clock()
    timestamp = int(attempted_at.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Selaras-Event-Id": payload["id"],
        "Selaras-Event-Type": payload["type"],
        "Selaras-Timestamp": str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        **(extra_headers or {}),
    }
    started = time.perf_counter()
    status_code: int | None = None
    error: str | None = None
    try:
        response = await http.post(
            url, content=body, headers=headers, timeout=limit_seconds, follow_redirects=False
        )
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except httpx.TimeoutException as exc:
        error = f"timeout: {type(exc).__name__}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    duration_ms = round((time.perf_counter() - started) * 1000)
    return Outcome(attempted_at, status_code, error, duration_ms)


class Dispatcher:
    """Claims due deliveries, sends them, records each attempt and what follows from it.

    Any number of dispatchers may run against one database (API replicas, the
    `selaras-referral deliver` command): a claim holds a delivery for
    `webhook_lease_seconds`, so two never send the same delivery at once, and one that
    crashed mid-send is taken over when its claim runs out.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        http: httpx.AsyncClient,
        settings: ReferralSettings,
        *,
        clock: Clock = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.sessions = sessions
        self.http = http
        self.settings = settings
        self.backoff = Backoff.from_settings(settings)
        self.sealer = Sealer.from_settings(settings)
        self.clock = clock
        self.rng = rng or random.Random()
        self._gate = asyncio.Semaphore(settings.webhook_concurrency)

    async def claim(self) -> list[Claimed]:
        """Claim the next batch of due deliveries (committed before anything is sent)."""
        now = self.clock()
        until = now + timedelta(seconds=self.settings.webhook_lease_seconds)
        async with self.sessions() as session:
            claimed = await WebhookRepository(session).claim_due(
                now=now, limit=self.settings.webhook_batch_size, token=uuid.uuid4(), until=until
            )
            await session.commit()
        return claimed

    async def send(self, item: Claimed) -> Outcome:
        """POST one claimed delivery (at most `webhook_concurrency` at once)."""
        async with self._gate:
            return await self._post(item)

    async def _post(self, item: Claimed) -> Outcome:
        try:
            secret = self.sealer.open(item.secret)
        except SecretUnreadable as exc:
            return Outcome(self.clock(), None, str(exc), 0)
        return await post_signed(
            self.http,
            url=item.url,
            secret=secret,
            payload=event_payload(item.event),
            clock=self.clock,
            limit_seconds=self.settings.webhook_timeout_seconds,
            extra_headers={
                "Selaras-Delivery-Id": str(item.delivery_id),
                "Selaras-Delivery-Attempt": str(item.attempt_no),
            },
        )

    def _effect(self, item: Claimed, outcome: Outcome, now: datetime) -> dict[str, Any]:
        values: dict[str, Any] = {
            "last_status_code": outcome.status_code,
            "last_error": outcome.error,
            "updated_at": now,
        }
        if outcome.delivered:
            return {**values, "status": "delivered", "delivered_at": now}
        failures = item.attempt_no - item.attempt_base
        if failures >= self.backoff.max_attempts:
            return {**values, "status": "failed"}
        return {**values, "next_attempt_at": now + self.backoff.delay(failures, self.rng)}

    async def record(self, results: list[tuple[Claimed, Outcome]]) -> None:
        """Record attempts and their effects in one transaction; deliveries with the same
        effect (most often: delivered) are settled by one statement."""
        groups: dict[tuple[tuple[str, Any], ...], list[Claimed]] = {}
        next_attempts: dict[uuid.UUID, datetime] = {}
        now = self.clock()  # one time for the batch, so that like outcomes group
        for item, outcome in results:
            change = self._effect(item, outcome, now)
            if "next_attempt_at" in change:
                next_attempts[item.delivery_id] = change.pop("next_attempt_at")
            groups.setdefault(tuple(sorted(change.items())), []).append(item)
        outcomes = {item.delivery_id: outcome for item, outcome in results}
        async with self.sessions() as session:
            repo = WebhookRepository(session)
            settled: set[uuid.UUID] = set()
            for effect, items in groups.items():
                # One claim, one token: every item of a batch carries the same.
                ids = [i.delivery_id for i in items]
                retries = {i: next_attempts[i] for i in ids if i in next_attempts}
                settled |= await repo.settle(items[0].token, ids, dict(effect), retries)
            for item, _ in results:
                if item.delivery_id not in settled:
                    _log.info("delivery %s: claim lost, attempt not recorded", item.delivery_id)
                    continue
                outcome = outcomes[item.delivery_id]
                session.add(
                    WebhookAttempt(
                        delivery_id=item.delivery_id,
                        attempt_no=item.attempt_no,
                        attempted_at=outcome.attempted_at,
                        status_code=outcome.status_code,
                        error=outcome.error,
                        duration_ms=outcome.duration_ms,
                    )
                )
            await session.commit()

    async def run_once(self) -> int:
        """Claim one batch, send it concurrently, record the results; how many were sent."""
        claimed = await self.claim()
        if not claimed:
            return 0
        outcomes = await asyncio.gather(*(self.send(item) for item in claimed))
        await self.record(list(zip(claimed, outcomes, strict=True)))
        return len(claimed)

    async def run_until_idle(self) -> int:
        """Send batches until nothing is due now (retries scheduled later stay queued)."""
        sent = 0
        while batch := await self.run_once():
            sent += batch
        return sent

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, polling when idle; a database outage is waited out."""
        while not stop.is_set():
            try:
                sent = await self.run_once()
            except Exception:
                _log.exception("webhook dispatch failed; retrying")
                sent = 0
            if sent == 0:
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.webhook_poll_seconds)


Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[Any]]


def with_webhook_dispatcher(inner: Lifespan, settings: ReferralSettings) -> Lifespan:
    """Wrap an app lifespan: one pooled HTTP client for webhooks, and a dispatcher task
    (unless `webhook_dispatcher` is off) that stops cleanly at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with inner(app):
            http = webhook_client(settings)
            app.state.webhook_http = http
            stop = asyncio.Event()
            task = None
            if settings.webhook_dispatcher:
                dispatcher = Dispatcher(app.state.sessionmaker, http, settings)
                task = asyncio.create_task(dispatcher.run(stop), name="webhook-dispatcher")
            try:
                yield
            finally:
                stop.set()
                if task is not None:
                    await task
                await http.aclose()

    return lifespan
