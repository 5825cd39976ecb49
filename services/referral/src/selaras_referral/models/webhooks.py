"""Webhook subscriptions, one delivery per (event, subscription), and every attempt made."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field

from selaras_referral.models.base import ReferralModel
from selaras_shared.db import JSONVariant, UTCDateTime, code_string, utcnow


class WebhookSubscription(ReferralModel, table=True):
    """Where a partner or an office wants events POSTed, signed with its secret.

    A partner's subscription has its `organization` and receives the events addressed to
    that organisation; an office's has none and receives the events of households within
    `jurisdiction` (a region prefix).
    """

    __tablename__ = "webhook_subscription"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    url: str = Field(max_length=2000)
    #: Sealed (see `sealing`): the signature is an HMAC with it, so it must be read back
    #: and cannot be stored hashed.
    secret: str = Field(max_length=512)
    event_types: list[str] = Field(sa_column=Column(JSONVariant, nullable=False))
    active: bool = True
    organization: str | None = Field(default=None, sa_type=code_string(50), index=True)
    jurisdiction: str = Field(sa_type=code_string(10), index=True)
    created_by: str = Field(max_length=200)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookDelivery(ReferralModel, table=True):
    """One event to deliver to one subscription: pending until a 2xx, or failed when the
    attempts run out (a replay queues it again, with the same event id)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_seq", name="uq_webhook_delivery_event"),
        # The dispatcher's question: which pending deliveries are due?
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    subscription_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("webhook_subscription.id", ondelete="CASCADE"), nullable=False)
    )
    event_seq: int = Field(
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"),
            ForeignKey("outbox_event.seq"),
            nullable=False,
            index=True,
        )
    )
    event_id: uuid.UUID
    event_type: str = Field(max_length=64)
    status: str = Field(default="pending", max_length=10)
    #: Attempts made in all; `attempt_base` is the count when it was last queued, so that
    #: a replayed delivery gets a full set of attempts again.
    attempts: int = 0
    attempt_base: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: A dispatcher's claim: no other dispatcher sends it before `claimed_until`.
    claim_token: uuid.UUID | None = None
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookAttempt(ReferralModel, table=True):
    """One POST of a delivery to the receiver: what it answered, or why it could not."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (UniqueConstraint("delivery_id", "attempt_no", name="uq_webhook_attempt"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    delivery_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("webhook_delivery.id", ondelete="CASCADE"), nullable=False)
    )
    attempt_no: int
    attempted_at: datetime = Field(sa_type=UTCDateTime)
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    duration_ms: int
