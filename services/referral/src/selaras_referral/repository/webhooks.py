"""Queries of webhook subscriptions, deliveries and attempts; flushes, never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from selaras_referral.models.outbox import OutboxEvent
from selaras_referral.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookSubscription


@dataclass(frozen=True)
class Owner:
    """Whose subscriptions a caller manages: a partner organisation's, or an office's
    within a jurisdiction (region prefix)."""

    organization: str | None
    jurisdiction: str


@dataclass(frozen=True)
class Claimed:
    """A delivery a dispatcher has claimed, with what it needs to send it."""

    delivery_id: uuid.UUID
    token: uuid.UUID
    attempt_no: int
    attempt_base: int
    url: str
    secret: str
    event: OutboxEvent


class WebhookRepository:
    """Reads and writes of the webhook tables for one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- subscriptions ------------------------------------------------------------------

    async def subscription(
        self, owner: Owner, subscription_id: uuid.UUID
    ) -> WebhookSubscription | None:
        """One subscription, if it exists and belongs to `owner`."""
        found = await self.session.get(WebhookSubscription, subscription_id)
        return found if found is not None and _owns(owner, found) else None

    async def subscriptions(
        self, owner: Owner, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> Sequence[WebhookSubscription]:
        """A page of `owner`'s subscriptions, oldest first."""
        query = (
            select(WebhookSubscription)
            .where(_owned_by(owner))
            .order_by(col(WebhookSubscription.created_at), col(WebhookSubscription.id))
            .limit(limit)
        )
        if after is not None:
            created, last_id = after
            query = query.where(
                or_(
                    col(WebhookSubscription.created_at) > created,
                    (col(WebhookSubscription.created_at) == created)
                    & (col(WebhookSubscription.id) > last_id),
                )
            )
        return (await self.session.scalars(query)).all()

    # --- deliveries ---------------------------------------------------------------------

    async def delivery(
        self, subscription_id: uuid.UUID, delivery_id: uuid.UUID
    ) -> WebhookDelivery | None:
        """One delivery of a subscription."""
        found = await self.session.get(WebhookDelivery, delivery_id)
        return found if found is not None and found.subscription_id == subscription_id else None

    async def deliveries(
        self,
        subscription_id: uuid.UUID,
        *,
        status: str | None,
        before_seq: int | None,
        limit: int,
    ) -> Sequence[WebhookDelivery]:
        """A page of a subscription's deliveries, newest event first."""
        query = (
            select(WebhookDelivery)
            .where(col(WebhookDelivery.subscription_id) == subscription_id)
            .order_by(col(WebhookDelivery.event_seq).desc())
            .limit(limit)
        )
        if status is not None:
            query = query.where(col(WebhookDelivery.status) == status)
        if before_seq is not None:
            query = query.where(col(WebhookDelivery.event_seq) < before_seq)
        return (await self.session.scalars(query)).all()

    async def stored_secrets(self) -> Sequence[tuple[uuid.UUID, str]]:
        """Every subscription's stored (sealed) secret, locked until the transaction ends."""
        rows = await self.session.execute(
            select(col(WebhookSubscription.id), col(WebhookSubscription.secret))
            .order_by(col(WebhookSubscription.id))
            .with_for_update()
        )
        return [(subscription_id, secret) for subscription_id, secret in rows]

    async def store_secret(self, subscription_id: uuid.UUID, secret: str) -> None:
        """Replace a stored secret by another form of the same secret (no new version)."""
        await self.session.execute(
            update(WebhookSubscription)
            .where(col(WebhookSubscription.id) == subscription_id)
            .values(secret=secret)
        )

    async def attempts(self, delivery_id: uuid.UUID) -> Sequence[WebhookAttempt]:
        """Every attempt of a delivery, oldest first."""
        query = (
            select(WebhookAttempt)
            .where(col(WebhookAttempt.delivery_id) == delivery_id)
            .order_by(col(WebhookAttempt.attempt_no))
        )
        return (await self.session.scalars(query)).all()

    async def requeue(
        self,
        subscription_id: uuid.UUID,
        *,
        now: datetime,
        status: str,
        since: datetime | None = None,
        until: datetime | None = None,
        delivery_id: uuid.UUID | None = None,
    ) -> int:
        """Queue deliveries again, due now, with a full set of attempts; the event (and so
        its id) stays the same. Returns how many were queued."""
        events = select(col(OutboxEvent.seq))
        if since is not None:
            events = events.where(col(OutboxEvent.occurred_at) >= since)
        if until is not None:
            events = events.where(col(OutboxEvent.occurred_at) < until)
        statement = (
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.subscription_id) == subscription_id,
                col(WebhookDelivery.status) == status,
            )
            .values(
                status="pending",
                attempt_base=WebhookDelivery.attempts,
                next_attempt_at=now,
                claim_token=None,
                claimed_until=None,
                updated_at=now,
            )
        )
        if delivery_id is not None:
            statement = statement.where(col(WebhookDelivery.id) == delivery_id)
        if since is not None or until is not None:
            statement = statement.where(col(WebhookDelivery.event_seq).in_(events))
        result: CursorResult[Any] = await self.session.execute(statement)  # type: ignore[assignment]
        return int(result.rowcount)

    # --- the dispatcher's claims ----------------------------------------------------------

    async def claim_due(
        self, *, now: datetime, limit: int, token: uuid.UUID, until: datetime
    ) -> list[Claimed]:
        """Claim up to `limit` due deliveries of active subscriptions until `until`.

        On PostgreSQL rows another dispatcher is claiming are skipped, not waited for
        (`FOR UPDATE SKIP LOCKED`); on SQLite the write transaction is exclusive anyway.
        """
        due = (
            select(col(WebhookDelivery.id))
            .join(
                WebhookSubscription,
                col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
            )
            .where(
                col(WebhookDelivery.status) == "pending",
                col(WebhookDelivery.next_attempt_at) <= now,
                or_(
                    col(WebhookDelivery.claimed_until).is_(None),
                    col(WebhookDelivery.claimed_until) <= now,
                ),
                col(WebhookSubscription.active),
            )
            .order_by(col(WebhookDelivery.next_attempt_at))
            .limit(limit)
            .with_for_update(of=WebhookDelivery, skip_locked=True)
        )
        ids = list(await self.session.scalars(due))
        if not ids:
            return []
        await self.session.execute(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.id).in_(ids))
            .values(claim_token=token, claimed_until=until)
        )
        rows = await self.session.execute(
            select(
                col(WebhookDelivery.id),
                col(WebhookDelivery.attempts),
                col(WebhookDelivery.attempt_base),
                col(WebhookSubscription.url),
                col(WebhookSubscription.secret),
                OutboxEvent,
            )
            .join(
                WebhookSubscription,
                col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
            )
            .join(OutboxEvent, col(OutboxEvent.seq) == col(WebhookDelivery.event_seq))
            .where(col(WebhookDelivery.id).in_(ids))
            .order_by(col(WebhookDelivery.next_attempt_at))
        )
        return [
            Claimed(
                delivery_id=delivery_id,
                token=token,
                attempt_no=attempts + 1,
                attempt_base=base,
                url=url,
                secret=secret,
                event=event,
            )
            for delivery_id, attempts, base, url, secret, event in rows
        ]

    async def settle(
        self,
        token: uuid.UUID,
        delivery_ids: Sequence[uuid.UUID],
        values: dict[str, Any],
        next_attempts: dict[uuid.UUID, datetime] | None = None,
    ) -> set[uuid.UUID]:
        """Count one more attempt on the deliveries still claimed with `token` and set
        `values` on them (and each its own `next_attempt_at`, if given); returns those it
        applied to (a claim is lost when the subscription was deleted, a replay re-queued
        it, or it expired and another dispatcher took the delivery over)."""
        if next_attempts:
            # One statement for a batch of retries, each with its own jittered time.
            values = {
                **values,
                "next_attempt_at": case(next_attempts, value=col(WebhookDelivery.id)),
            }
        rows = await self.session.execute(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.id).in_(delivery_ids),
                col(WebhookDelivery.claim_token) == token,
            )
            .values(
                attempts=col(WebhookDelivery.attempts) + 1,
                claim_token=None,
                claimed_until=None,
                **values,
            )
            .returning(col(WebhookDelivery.id))
        )
        return set(rows.scalars())


def _owned_by(owner: Owner) -> Any:
    if owner.organization is not None:
        return col(WebhookSubscription.organization) == owner.organization
    return col(WebhookSubscription.organization).is_(None) & col(
        WebhookSubscription.jurisdiction
    ).startswith(owner.jurisdiction, autoescape=True)


def _owns(owner: Owner, subscription: WebhookSubscription) -> bool:
    if owner.organization is not None:
        return subscription.organization == owner.organization
    return subscription.organization is None and subscription.jurisdiction.startswith(
        owner.jurisdiction
    )
