"""Write domain events to the outbox, inside the caller's transaction, and queue one
webhook delivery per matching subscription in that same transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from selaras_referral.models.outbox import OutboxEvent
from selaras_referral.models.webhooks import WebhookDelivery, WebhookSubscription

#: Referral states (DESIGN section 7); each transition announces `referral.<new state>`.
REFERRAL_STATES = (
    "draft",
    "requested",
    "accepted",
    "rejected",
    "cancelled",
    "in_progress",
    "on_hold",
    "completed",
    "failed",
    "closed",
    "entered_in_error",
)

#: Every event type the service emits, which is what webhooks may subscribe to.
EVENT_TYPES: frozenset[str] = frozenset(
    {"case.created", "case.updated", "case.closed"}
    | {f"referral.{state}" for state in REFERRAL_STATES}
    | {"referral.escalated", "referral.note_added"}
)

#: `<family>.*` subscribes to every event of a family.
EVENT_FAMILIES: frozenset[str] = frozenset(t.split(".", 1)[0] for t in EVENT_TYPES)


def matches(patterns: list[str], event_type: str) -> bool:
    """Whether an event type is one a subscription's `event_types` asks for."""
    family = event_type.split(".", 1)[0]
    return any(p == event_type or p == f"{family}.*" for p in patterns)


def region_prefixes(region: str) -> list[str]:
    """Every jurisdiction that covers `region`: national, province, regency, ..."""
    return [""] + [region[:n] for n in (2, 4, 6, 10) if n <= len(region)]


async def emit(
    session: AsyncSession,
    *,
    type: str,
    subject_type: str,
    subject_id: uuid.UUID,
    region: str,
    data: dict[str, Any],
    organization: str | None = None,
) -> OutboxEvent:
    """Record one event in the same transaction as the change it announces.

    The event commits or rolls back with that change, so a subscriber is never told of a
    change that did not happen, and no committed change goes unannounced. Its deliveries
    are queued here too: fanning out in the writing transaction is exact, where a
    dispatcher following the outbox by `seq` could skip an event whose transaction
    committed after a later one's.
    """
    event = OutboxEvent(
        type=type,
        subject_type=subject_type,
        subject_id=subject_id,
        region=region,
        organization=organization,
        data=data,
    )
    session.add(event)
    await session.flush()
    assert event.seq is not None
    # A partner's subscription takes the events addressed to its organisation; an
    # office's (no organisation) the events of households within its jurisdiction.
    scope: ColumnElement[bool] = col(WebhookSubscription.organization).is_(None) & col(
        WebhookSubscription.jurisdiction
    ).in_(region_prefixes(region))
    if organization is not None:
        scope = or_(scope, col(WebhookSubscription.organization) == organization)
    subscriptions = await session.scalars(
        select(WebhookSubscription).where(col(WebhookSubscription.active), scope)
    )
    deliveries = [
        WebhookDelivery(
            subscription_id=s.id,
            event_seq=event.seq,
            event_id=event.id,
            event_type=type,
            next_attempt_at=event.occurred_at,
        )
        for s in subscriptions
        if matches(s.event_types, type)
    ]
    if deliveries:
        session.add_all(deliveries)
        await session.flush()
    return event
