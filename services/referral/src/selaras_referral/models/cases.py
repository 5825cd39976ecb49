"""Intake cases, their notes, and the stored answers of idempotent (offline) creations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field

from selaras_referral.models.base import ReferralModel
from selaras_shared.db import JSONVariant, UTCDateTime, code_string, utcnow


class IntakeCase(ReferralModel, table=True):
    """One intake (*registrasi*): who came, by which channel, what they need, with consent.

    `region` is the household's village code: jurisdictions are region prefixes, so a
    village operator sees its village's cases and a regency manager its regency's.
    `registry_checked` is false when the registry could not be asked; `registry_problem`
    then says why (`{"id": ..., "en": ...}`).
    """

    __tablename__ = "intake_case"
    __table_args__ = (Index("ix_intake_case_region_created", "region", "created_at", "id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    household_id: uuid.UUID = Field(index=True)
    member_id: uuid.UUID | None = None
    region: str = Field(sa_type=code_string(10))
    registry_checked: bool
    registry_problem: dict[str, str] | None = Field(default=None, sa_column=Column(JSONVariant))
    channel: str = Field(max_length=32)
    type: str = Field(max_length=32)
    sector: str = Field(max_length=32)
    ppks: list[str] = Field(default_factory=list, sa_column=Column(JSONVariant, nullable=False))
    description: str = Field(sa_column=Column(Text, nullable=False))
    priority: str = Field(max_length=16)
    sensitive: bool = False
    consent: dict[str, Any] = Field(sa_column=Column(JSONVariant, nullable=False))
    status: str = Field(default="open", max_length=16)
    registered_by: str = Field(max_length=200)
    registered_role: str = Field(max_length=32)
    #: The registering officer's jurisdiction: the office (Puskesos, SLRT secretariat).
    office: str = Field(sa_type=code_string(10))
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Note(ReferralModel, table=True):
    """A note on a case (`referral_id` null) or on one of its referrals; append-only."""

    __tablename__ = "note"
    __table_args__ = (Index("ix_note_case_created", "case_id", "created_at", "id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="intake_case.id")
    referral_id: uuid.UUID | None = Field(default=None, foreign_key="referral.id", index=True)
    author: str = Field(max_length=200)
    role: str = Field(max_length=32)
    organization: str | None = Field(default=None, sa_type=code_string(50))
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class IdempotencyRecord(ReferralModel, table=True):
    """The stored answer to a write sent with an `Idempotency-Key`, replayed on retry."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("scope", "subject", "key", name="uq_idempotency_key"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=30, description="which endpoint, e.g. `cases`")
    subject: str = Field(max_length=200, description="the principal that sent the key")
    key: str = Field(max_length=200)
    request_sha256: str = Field(sa_type=code_string(64))
    status_code: int
    response: dict[str, Any] = Field(sa_column=Column(JSONVariant, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
