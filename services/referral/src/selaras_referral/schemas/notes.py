"""Note and statistics models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from selaras_referral.schemas.common import Input


class NoteCreate(Input):
    """A note's text."""

    text: Annotated[str, Field(min_length=1, max_length=4000)]


class NoteRead(BaseModel):
    """A note as written: who, in which role and organisation, when."""

    id: uuid.UUID
    case_id: uuid.UUID
    referral_id: uuid.UUID | None
    author: str
    role: str
    organization: str | None
    text: str
    created_at: datetime


class StatusCount(BaseModel):
    """How many referrals of one group (a village, a programme...) are in one status."""

    key: str
    status: str
    count: int


class Outcomes(BaseModel):
    """What completed referrals delivered, per programme and source level."""

    program: str
    source_level: str | None
    completed: int
    people: int
    amount_rupiah: int


class Stats(BaseModel):
    """Dashboard figures over the referrals the caller may read."""

    by_village: list[StatusCount]
    by_regency: list[StatusCount]
    by_program: list[StatusCount]
    by_organization: list[StatusCount]
    median_hours_to_accept: float | None
    median_hours_to_complete: float | None
    with_due_date: int
    breached: int
    breach_rate: float | None = Field(description="share of referrals that missed a due date")
    outcomes: list[Outcomes]
