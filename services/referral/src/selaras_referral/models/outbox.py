"""The outbox: domain events written in the same transaction as the change they announce."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Integer
from sqlmodel import Field

from selaras_referral.models.base import ReferralModel
from selaras_shared.db import JSONVariant, UTCDateTime, code_string, utcnow


class OutboxEvent(ReferralModel, table=True):
    """One event (`referral.accepted`, `case.created`...) to announce to subscribers.

    `seq` orders events as they were written; `id` is the event id receivers use to
    de-duplicate a delivery they have already seen (deliveries are at least once).
    """

    __tablename__ = "outbox_event"

    seq: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, unique=True)
    type: str = Field(max_length=64, index=True)
    #: The organisation the event concerns (a referral's receiver), if any: partners see
    #: only events addressed to their own organisation.
    organization: str | None = Field(default=None, sa_type=code_string(50), index=True)
    #: Region code of the household concerned, for jurisdiction-scoped subscribers.
    region: str = Field(sa_type=code_string(10))
    subject_type: str = Field(max_length=32)
    subject_id: uuid.UUID
    data: dict[str, Any] = Field(sa_column=Column(JSONVariant, nullable=False))
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
