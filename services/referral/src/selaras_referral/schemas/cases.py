"""Case (intake) request and response models."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, Field, model_validator

from selaras_referral.codes import CaseStatus, CaseType, Channel, ConsentScope, Priority, Sector
from selaras_referral.schemas.common import CheckProblem, Input, Unique, VillageCode
from selaras_shared.codes import Ppks

Description = Annotated[str, Field(min_length=1, max_length=4000)]


class Consent(Input):
    """The person's consent: to what, when, and who gave it (themself or a guardian)."""

    scope: Annotated[list[ConsentScope], Field(min_length=1, max_length=3), Unique]
    given_at: date
    given_by: Annotated[str, Field(min_length=1, max_length=200)]


class CaseCreate(Input):
    """An intake. `id` may be chosen by an offline client (with an Idempotency-Key)."""

    id: uuid.UUID | None = None
    household_id: uuid.UUID
    member_id: uuid.UUID | None = Field(
        default=None, description="the person the case is about, a member of the household"
    )
    village_code: VillageCode = Field(
        description="the household's village; must agree with the registry when it is reachable"
    )
    channel: Channel
    type: CaseType
    sector: Sector
    ppks: Annotated[list[Ppks], Field(max_length=26), Unique] = Field(default_factory=list)
    description: Description
    priority: Priority = Priority.normal
    sensitive: bool = Field(
        default=False,
        description="violence or child case: visible only to the owner office's back office, "
        "supervisors and managers, and to the registering officer",
    )
    consent: Consent


class CaseUpdate(Input):
    """A change to a case (sent with If-Match); absent fields are left as they are."""

    channel: Channel | None = None
    type: CaseType | None = None
    sector: Sector | None = None
    ppks: Annotated[list[Ppks], Field(max_length=26), Unique] | None = None
    description: Description | None = None
    priority: Priority | None = None
    sensitive: bool | None = None
    consent: Consent | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("nothing to change")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class CaseSummary(BaseModel):
    """A case without personal data: what events carry."""

    id: uuid.UUID
    household_id: uuid.UUID
    region: str
    channel: Channel
    type: CaseType
    sector: Sector
    priority: Priority
    sensitive: bool
    status: CaseStatus
    version: int
    created_at: datetime
    updated_at: datetime


class CaseRead(CaseSummary):
    """A case as its readers see it."""

    member_id: uuid.UUID | None
    registry_check: Literal["checked", "unchecked"]
    registry_problem: CheckProblem | None = Field(
        description="why the registry could not be asked, when unchecked"
    )
    ppks: list[Ppks]
    description: str
    consent: Consent
    registered_by: str
    registered_role: str
    office: str
    closed_at: datetime | None
