"""Referrals of a case to a programme's provider, and their append-only audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, Text
from sqlmodel import Field

from selaras_referral.models.base import ReferralModel
from selaras_shared.db import JSONVariant, UTCDateTime, code_string, utcnow


class Referral(ReferralModel, table=True):
    """A handoff of a case's household to one programme's receiving organisation.

    `status` follows the state machine in `service.transitions`; `version` guards every
    change (a transition is a conditional UPDATE on status and version). Due dates are
    set when the referral is requested (response) and accepted (resolution).
    """

    __tablename__ = "referral"
    __table_args__ = (
        Index("ix_referral_region_created", "region", "created_at", "id"),
        Index("ix_referral_org_created", "organization", "created_at", "id"),
        Index("ix_referral_status_due", "status", "response_due_at", "resolution_due_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="intake_case.id", index=True)
    household_id: uuid.UUID
    region: str = Field(sa_type=code_string(10))
    program: str = Field(sa_type=code_string(32), index=True)
    program_name: str | None = Field(default=None, max_length=200)
    #: The receiving organisation's code (e.g. `baznas-7303`): partners of that
    #: organisation see and answer this referral.
    organization: str = Field(sa_type=code_string(50))
    source_level: str | None = Field(default=None, max_length=16)
    status: str = Field(default="draft", max_length=20)
    priority: str = Field(max_length=16)
    registry_checked: bool
    eligibility_checked: bool
    eligibility_status: str | None = Field(default=None, max_length=16)
    #: Why a check could not be made, `{"registry": {"id":..,"en":..}, "eligibility": ...}`.
    check_problems: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONVariant, nullable=False)
    )
    requires_approval: bool = False
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_by: str | None = Field(default=None, max_length=200)
    parent_referral_id: uuid.UUID | None = Field(
        default=None, foreign_key="referral.id", index=True
    )
    reason: str | None = Field(default=None, sa_column=Column(Text))
    outcome: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONVariant))
    response_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolution_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    responded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: The sub-district code whose supervisors the breach was escalated to.
    escalated_to: str | None = Field(default=None, sa_type=code_string(10))
    #: Which due date the last escalation was for (`response`, `resolution`): one a breach.
    escalated_for: str | None = Field(default=None, max_length=16)
    created_by: str = Field(max_length=200)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TrailEntry(ReferralModel, table=True):
    """One append-only audit entry of a referral: a transition, an approval or an escalation.

    No route updates or deletes these rows, and on PostgreSQL a trigger refuses it.
    """

    __tablename__ = "referral_trail"

    seq: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    referral_id: uuid.UUID = Field(foreign_key="referral.id", index=True)
    kind: str = Field(max_length=16)
    actor: str = Field(max_length=200)
    role: str = Field(max_length=32)
    organization: str | None = Field(default=None, sa_type=code_string(50))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20)
    reason: str | None = Field(default=None, sa_column=Column(Text))
    outcome: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONVariant))
