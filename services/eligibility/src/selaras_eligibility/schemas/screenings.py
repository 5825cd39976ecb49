"""Request and response models of screening jobs and what-if simulations."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from selaras_eligibility.schemas.catalogue import ProgramCode

_INPUT = ConfigDict(extra="forbid", str_strip_whitespace=True)

#: A region to screen: province, regency, sub-district or village code.
ScreeningRegion = Annotated[
    str,
    Field(
        pattern=r"^(\d{2}|\d{4}|\d{6}|\d{10})$",
        description="Kemendagri code: province (73), regency (7303), sub-district, village",
    ),
]

ResultStatus = Literal["eligible", "selected", "waitlisted", "not_eligible", "excluded", "unknown"]


class ScreeningCreate(BaseModel):
    """A screening to run: a region, a date, and optionally which programmes."""

    model_config = _INPUT

    region: ScreeningRegion
    on: date | None = Field(default=None, description="evaluation date; today in WITA if absent")
    programs: list[ProgramCode] | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="programme codes; absent: every active programme covering part of the region",
    )


class RuleSetUsed(BaseModel):
    """The rule set a programme was screened with, and the catalogue terms applied."""

    program: str
    version: int
    content_sha256: str
    effective_from: date
    quota: int | None
    quota_applied: bool | None = Field(
        default=None,
        description="false when the region covers only part of the programme's area: the"
        " quota is for the whole area, so eligible households are not ranked against it"
        " (reason `quota_not_applied`); null for a programme without a quota",
    )
    ranking: list[dict[str, Any]]
    excludes: list[str]
    areas: list[str]

    @model_validator(mode="after")
    def _earlier_jobs_applied_quotas(self) -> Self:
        # Jobs recorded before `quota_applied` existed applied every quota.
        if self.quota is not None and self.quota_applied is None:
            self.quota_applied = True
        return self


class ScreeningError(BaseModel):
    """Why a screening failed (a problem type and its detail)."""

    type: str
    status: int
    detail: str


class ScreeningRead(BaseModel):
    """A screening job: inputs, progress, outcome, counts and what it was computed from."""

    id: uuid.UUID
    region: str
    on: date
    status: Literal["queued", "running", "succeeded", "failed"]
    phase: str | None
    mode: str | None = Field(description="full (whole snapshot) or changes (change feed)")
    cursor: str | None = Field(description="the registry change-feed position of the data")
    masked: bool = Field(description="run without personal-data rights: ages are unknown")
    rule_sets: list[RuleSetUsed]
    skipped: list[dict[str, Any]]
    households: int | None
    households_changed: int | None
    rows_written: int | None
    counts: dict[str, dict[str, int]]
    timings: dict[str, float]
    error: ScreeningError | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ProgramOutcome(BaseModel):
    """One household's outcome for one programme."""

    status: Literal["eligible", "not_eligible", "unknown"]
    reason: Literal["over_quota", "quota_not_applied", "excluded"] | None = None


class ScreeningResult(BaseModel):
    """One household's outcomes for the programmes whose area covers it."""

    household_id: uuid.UUID
    village_code: str
    programs: dict[str, ProgramOutcome]


class SimulationCreate(BaseModel):
    """A draft rule set to try against a region, next to the published one in force."""

    model_config = _INPUT

    program: ProgramCode
    version: int | None = Field(default=None, ge=1, description="a stored draft version")
    document: dict[str, Any] | None = Field(
        default=None, description="or an inline rule-set document (not stored)"
    )
    region: ScreeningRegion
    on: date | None = None
    fresh: bool = Field(
        default=False, description="read a fresh snapshot even when a screening state exists"
    )
    limit: int = Field(default=100, ge=0, le=1000, description="households listed per change")


class HouseholdChange(BaseModel):
    """A household whose outcome the draft changes."""

    household_id: uuid.UUID
    village_code: str
    before: str
    after: str


class VillageChange(BaseModel):
    """Counts of one village under the rules in force and under the draft."""

    village_code: str
    eligible_before: int
    eligible_after: int
    gains: int
    losses: int


class BudgetChange(BaseModel):
    """Yearly cost (integer rupiah) of the households funded before and after."""

    amount_rupiah: int | None
    period: str
    payments_per_year: int
    quota_applied: bool | None = Field(
        description="false when the region covers only part of the programme's area: every"
        " eligible household is counted as funded (an upper bound); null without a quota"
    )
    funded_before: int
    funded_after: int
    yearly_before: int
    yearly_after: int
    yearly_change: int


class SimulationRead(BaseModel):
    """What the draft would change: who gains, who loses, by village, and the budget."""

    program: str
    region: str
    evaluated_on: date
    data: dict[str, Any]
    in_force: dict[str, Any] | None
    draft: dict[str, Any]
    households: int
    counts_before: dict[str, int]
    counts_after: dict[str, int]
    gains: int
    losses: int
    gained: list[HouseholdChange]
    lost: list[HouseholdChange]
    villages: list[VillageChange]
    budget: BudgetChange
    published: bool = Field(default=False, description="always false: nothing is published")
