"""Referral, transition, approval, trail and suggestion models."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Self

from pydantic import BaseModel, Field, model_validator

from selaras_referral.codes import Priority, ReferralStatus, SlaStatus, TrailKind
from selaras_referral.schemas.common import (
    CheckProblem,
    Input,
    OrganizationCode,
    ProgramCode,
    Unique,
)

Reason = Annotated[str, Field(min_length=1, max_length=2000)]


class Outcome(Input):
    """What the provider delivered: the service, and money (integer rupiah), goods in kind,
    an enrolment or membership number (insurance, school aid), or several of these."""

    service_delivered: Annotated[str, Field(min_length=1, max_length=500)]
    people: Annotated[int, Field(ge=1, le=100)] = 1
    amount_rupiah: Annotated[int, Field(ge=0, le=10_000_000_000)] | None = None
    in_kind: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    enrolment_number: Annotated[str, Field(min_length=1, max_length=100)] | None = None

    @model_validator(mode="after")
    def _something_delivered(self) -> Self:
        # An enrolment on its own is an outcome: PBI-JKN pays no money and gives nothing in
        # kind, the family is enrolled in health insurance.
        if self.amount_rupiah is None and self.in_kind is None and self.enrolment_number is None:
            raise ValueError("give amount_rupiah, in_kind or enrolment_number")
        return self


class TransitionRequest(Input):
    """Move a referral to `to`; reject/cancel/hold/fail need a reason, complete an outcome."""

    to: ReferralStatus
    reason: Reason | None = None
    outcome: Outcome | None = None


class ReferralCreate(Input):
    """A referral made by hand; `parent_referral_id` re-routes a rejected or failed one."""

    case_id: uuid.UUID
    program: ProgramCode
    organization: OrganizationCode | None = Field(
        default=None, description="the receiver; by default the programme's owner"
    )
    priority: Priority | None = Field(default=None, description="by default the case's")
    parent_referral_id: uuid.UUID | None = None


class ReferralsFromSuggestions(Input):
    """Create one draft referral per programme code, receivers being the programmes' owners."""

    programs: Annotated[list[ProgramCode], Field(min_length=1, max_length=20), Unique]
    priority: Priority | None = None
    organizations: dict[ProgramCode, OrganizationCode] = Field(
        default_factory=dict,
        description="receivers other than the programmes' owners; needed for a programme "
        "never referred before when the eligibility service is down",
    )


class Reroute(Input):
    """Re-route a rejected or failed referral to another programme or provider."""

    program: ProgramCode | None = Field(default=None, description="by default the parent's")
    organization: OrganizationCode | None = None
    priority: Priority | None = None


class ApprovalRequest(Input):
    """A manager's approval of a draft referral to a programme that requires it."""

    note: Annotated[str, Field(min_length=1, max_length=2000)] | None = None


class ReferralRead(BaseModel):
    """A referral as its readers (referring office, receiver) see it."""

    id: uuid.UUID
    case_id: uuid.UUID
    household_id: uuid.UUID
    region: str
    program: str
    program_name: str | None
    organization: str
    source_level: str | None
    status: ReferralStatus
    priority: Priority
    registry_checked: bool
    eligibility_checked: bool
    eligibility_status: str | None
    check_problems: dict[str, CheckProblem]
    requires_approval: bool
    approved_at: datetime | None
    approved_by: str | None
    parent_referral_id: uuid.UUID | None
    reason: str | None
    outcome: Outcome | None
    response_due_at: datetime | None
    resolution_due_at: datetime | None
    sla_status: SlaStatus | None
    requested_at: datetime | None
    accepted_at: datetime | None
    completed_at: datetime | None
    closed_at: datetime | None
    escalated_at: datetime | None
    escalated_to: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int


class TrailEntryRead(BaseModel):
    """One entry of a referral's audit trail."""

    seq: int
    kind: TrailKind
    actor: str
    role: str
    organization: str | None
    at: datetime
    from_status: ReferralStatus | None
    to_status: ReferralStatus
    reason: str | None
    outcome: Outcome | None


class AllowedTransitions(BaseModel):
    """The states this caller may move the referral to now."""

    status: ReferralStatus
    allowed: list[ReferralStatus]


class SuggestionRead(BaseModel):
    """One programme the household may be referred to, as the eligibility service says."""

    program: str
    name_id: str
    name_en: str
    source_level: str
    owner: str
    status: str
    requires_manager_approval: bool
    rule_set_version: int | None
    reason: str | None
    missing: list[str]


class SuggestionsRead(BaseModel):
    """Which programmes the household qualifies for; `checked` false when eligibility could
    not be asked (`problem` says why)."""

    checked: bool
    evaluated_on: date | None
    programs: list[SuggestionRead]
    problem: CheckProblem | None


class CreatedReferrals(BaseModel):
    """The referrals created in one step, and what could not be checked."""

    referrals: list[ReferralRead]
    eligibility_checked: bool
    problem: CheckProblem | None
