"""Request and response models of webhook subscriptions, deliveries and replays."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from selaras_shared.auth import REGION_PREFIX_PATTERN

_INPUT = ConfigDict(extra="forbid", str_strip_whitespace=True)

Url = Annotated[str, Field(min_length=1, max_length=2000, description="https://... (see docs)")]
Secret = Annotated[
    str,
    Field(
        min_length=16,
        max_length=200,
        description="HMAC-SHA256 key; printable ASCII, 16 to 200 characters",
    ),
]
EventTypes = Annotated[
    list[Annotated[str, Field(max_length=64)]],
    Field(
        min_length=1,
        max_length=50,
        description="event types (`referral.accepted`) or families (`referral.*`)",
    ),
]


class DeliveryStatus(StrEnum):
    """Where a delivery stands: waiting to be (re)sent, answered with a 2xx, or given up."""

    pending = "pending"
    delivered = "delivered"
    failed = "failed"


class WebhookCreate(BaseModel):
    """A new subscription; without `secret` one is generated and returned once."""

    model_config = _INPUT

    url: Url
    secret: Secret | None = None
    event_types: EventTypes
    active: bool = True
    jurisdiction: Annotated[
        str | None,
        Field(
            pattern=REGION_PREFIX_PATTERN,
            description="offices only: a region prefix within their own (default: theirs)",
        ),
    ] = None


class WebhookUpdate(BaseModel):
    """Fields to change; `secret` sets a new one, `rotate_secret` generates one."""

    model_config = _INPUT

    url: Url | None = None
    secret: Secret | None = None
    rotate_secret: bool = False
    event_types: EventTypes | None = None
    active: bool | None = None


class WebhookRead(BaseModel):
    """A subscription as served; `secret` only in the answer that generated it."""

    id: uuid.UUID
    url: str
    event_types: list[str]
    active: bool
    organization: str | None
    jurisdiction: str
    created_by: str
    version: int
    created_at: datetime
    updated_at: datetime
    secret: str | None = Field(
        default=None,
        description="the generated signing secret: in this answer only, never again",
    )


class AttemptRead(BaseModel):
    """One POST to the receiver: its HTTP status, or the error when there was none."""

    attempt_no: int
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryRead(BaseModel):
    """One event's delivery to a subscription."""

    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DeliveryDetail(DeliveryRead):
    """A delivery with every attempt made, oldest first."""

    attempt_log: list[AttemptRead]


class ReplayRequest(BaseModel):
    """Which deliveries of a subscription to queue again (by when their event happened)."""

    model_config = _INPUT

    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    status: DeliveryStatus = DeliveryStatus.failed

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.since is not None and self.until is not None and self.until < self.since:
            raise ValueError("until is before since")
        return self


class ReplayResult(BaseModel):
    """How many deliveries were queued again."""

    queued: int


class PingResult(BaseModel):
    """What the receiver answered to a signed `webhook.ping`."""

    delivered: bool
    status_code: int | None
    error: str | None
    duration_ms: int
