"""Request and response models of the eligibility API (catalogue and rule sets)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from selaras_shared.auth import REGION_PREFIX_PATTERN


class OrganizationKind(StrEnum):
    """Who runs programmes (DESIGN section 1)."""

    ministry = "ministry"
    provincial_office = "provincial_office"
    regency_office = "regency_office"
    village = "village"
    baznas = "baznas"
    bank_csr = "bank_csr"
    company_csr = "company_csr"
    university = "university"
    ngo = "ngo"


class SourceLevel(StrEnum):
    """The level a programme is funded from (`source_level`)."""

    central = "central"
    province = "province"
    regency = "regency"
    village = "village"
    csr = "csr"


class Unit(StrEnum):
    """Whether a programme is granted to a household or to one person."""

    household = "household"
    individual = "individual"


class BenefitPeriod(StrEnum):
    """How often the benefit is paid."""

    once = "once"
    monthly = "monthly"
    quarterly = "quarterly"
    yearly = "yearly"


class RuleSetStatus(StrEnum):
    """Life of a rule-set version: draft, then published, then retired by a successor."""

    draft = "draft"
    published = "published"
    retired = "retired"


class SortOrder(StrEnum):
    """Direction of a ranking key."""

    asc = "asc"
    desc = "desc"


RegionPrefix = Annotated[str, Field(pattern=REGION_PREFIX_PATTERN, max_length=10)]
OrganizationCode = Annotated[
    str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,49}$", description="e.g. baznas-7303")
]
#: The same codes as the rule language's `program` (`selaras_eligibility.rules`).
ProgramCode = Annotated[
    str, Field(pattern=r"^[A-Z][A-Z0-9_]{1,31}$", description="e.g. PKH, BLT_DD")
]
Name = Annotated[str, Field(min_length=2, max_length=200)]

_INPUT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OrganizationCreate(BaseModel):
    """A new organisation; `region` is its seat as a region prefix ("" for national)."""

    model_config = _INPUT

    code: OrganizationCode
    name: Name
    kind: OrganizationKind
    region: RegionPrefix


class OrganizationUpdate(BaseModel):
    """Fields to change on an organisation; the code is permanent."""

    model_config = _INPUT

    name: Name | None = None
    kind: OrganizationKind | None = None
    region: RegionPrefix | None = None


class OrganizationRead(BaseModel):
    """An organisation as served."""

    id: uuid.UUID
    code: str
    name: str
    kind: OrganizationKind
    region: str
    version: int
    created_at: datetime
    updated_at: datetime


class Benefit(BaseModel):
    """What a programme gives: an amount in integer rupiah, something in kind, or both."""

    model_config = _INPUT

    amount_rupiah: int | None = Field(default=None, ge=0, le=10**12)
    in_kind: str | None = Field(default=None, min_length=2, max_length=500)
    period: BenefitPeriod

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.amount_rupiah is None and self.in_kind is None:
            raise ValueError("give amount_rupiah, in_kind or both")
        return self


class RankingKey(BaseModel):
    """One key of the quota ranking, e.g. `desil` ascending (poorest first)."""

    model_config = _INPUT

    field: str = Field(pattern=r"^[a-z_][a-z0-9_.]{0,63}$")
    order: SortOrder = SortOrder.asc


def _check_period(active_from: date | None, active_to: date | None) -> None:
    if active_from is not None and active_to is not None and active_to < active_from:
        raise ValueError("active_to is before active_from")


class ProgramFields(BaseModel):
    """The changeable fields of a programme (DESIGN section 6)."""

    model_config = _INPUT

    name_id: Name
    name_en: Name
    source_level: SourceLevel
    owner: OrganizationCode = Field(description="code of the owning organisation")
    areas: list[RegionPrefix] = Field(min_length=1, max_length=500)
    unit: Unit
    benefit: Benefit
    legal_basis: str | None = Field(default=None, max_length=500)
    quota: int | None = Field(default=None, ge=1)
    ranking: list[RankingKey] = Field(default_factory=list, max_length=10)
    excludes: list[ProgramCode] = Field(default_factory=list, max_length=100)
    requires_manager_approval: bool = False
    active_from: date
    active_to: date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check_period(self.active_from, self.active_to)
        return self


class ProgramCreate(ProgramFields):
    """A new programme."""

    code: ProgramCode

    @model_validator(mode="after")
    def _not_self_excluding(self) -> Self:
        if self.code in self.excludes:
            raise ValueError("a programme cannot exclude itself")
        return self


class ProgramUpdate(BaseModel):
    """Fields to change on a programme; the code is permanent. `null` clears an optional."""

    model_config = _INPUT

    name_id: Name | None = None
    name_en: Name | None = None
    source_level: SourceLevel | None = None
    owner: OrganizationCode | None = None
    areas: list[RegionPrefix] | None = Field(default=None, min_length=1, max_length=500)
    unit: Unit | None = None
    benefit: Benefit | None = None
    legal_basis: str | None = Field(default=None, max_length=500)
    quota: int | None = Field(default=None, ge=1)
    ranking: list[RankingKey] | None = Field(default=None, max_length=10)
    excludes: list[ProgramCode] | None = Field(default=None, max_length=100)
    requires_manager_approval: bool | None = None
    active_from: date | None = None
    active_to: date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check_period(self.active_from, self.active_to)
        for name in ("name_id", "name_en", "source_level", "owner", "areas", "unit", "benefit"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        for name in ("ranking", "excludes", "requires_manager_approval", "active_from"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class ProgramRead(BaseModel):
    """A programme as served."""

    id: uuid.UUID
    code: str
    name_id: str
    name_en: str
    source_level: SourceLevel
    owner: str
    owner_id: uuid.UUID
    areas: list[str]
    unit: Unit
    benefit: Benefit
    legal_basis: str | None
    quota: int | None
    ranking: list[RankingKey]
    excludes: list[str]
    requires_manager_approval: bool
    active_from: date
    active_to: date | None
    version: int
    created_at: datetime
    updated_at: datetime


class RuleSetSummary(BaseModel):
    """A rule-set version without its document (the list of versions)."""

    id: uuid.UUID
    program_id: uuid.UUID
    program: str
    version: int
    status: RuleSetStatus
    effective_from: date
    effective_to: date | None
    content_sha256: str
    created_by: str
    created_at: datetime
    published_by: str | None
    published_at: datetime | None
    retired_at: datetime | None


class RuleSetRead(RuleSetSummary):
    """A rule-set version with its document."""

    document: dict[str, Any]
