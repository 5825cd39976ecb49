"""Request and response models of the explain and portable-rules endpoints."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from selaras_eligibility.rules.document import Label
from selaras_eligibility.rules.explain import ParameterUsed, Status
from selaras_eligibility.rules.fields import CODE_LISTS

MAX_MEMBERS = 50
MAX_CODES = 50


def _code_of(list_name: str) -> Any:
    """A validator that accepts only codes of one of the registry's code lists."""
    allowed = CODE_LISTS[list_name]

    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"unknown code {value!r}; expected one of {sorted(allowed)}")
        return value

    return AfterValidator(check)


def Code(list_name: str) -> Any:
    """A string that must be a code of `list_name`."""
    return Annotated[StrictStr, _code_of(list_name)]


Number = StrictInt | float
ShortText = Annotated[StrictStr, Field(max_length=100)]


class _Input(BaseModel):
    # extra="forbid": a misspelt field is a 422, not a silently unknown criterion; and no
    # names or NIK are taken for a pre-screening (only what rules read).
    model_config = ConfigDict(extra="forbid")


class HousingInput(_Input):
    """The dwelling, as in the registry's household document."""

    floor: Code("floor") | None = None  # type: ignore[valid-type]
    wall: Code("wall") | None = None  # type: ignore[valid-type]
    roof: Code("roof") | None = None  # type: ignore[valid-type]
    toilet: Code("toilet") | None = None  # type: ignore[valid-type]
    water: Code("water") | None = None  # type: ignore[valid-type]
    electricity_va: Annotated[StrictInt, Field(ge=0, le=1_000_000)] | None = None
    land_ownership: Code("land_ownership") | None = None  # type: ignore[valid-type]


class DisabilityInput(_Input):
    """A member's disability; null fields mean none."""

    type: Code("disability_type") | None = None  # type: ignore[valid-type]
    severity: Code("severity") | None = None  # type: ignore[valid-type]


class MemberInput(_Input):
    """One member, as in the registry's document, without name or NIK."""

    sex: Code("sex") | None = None  # type: ignore[valid-type]
    birth_date: date | None = None
    relationship: Code("relationship") | None = None  # type: ignore[valid-type]
    marital_status: Code("marital_status") | None = None  # type: ignore[valid-type]
    education: Code("education") | None = None  # type: ignore[valid-type]
    in_school: StrictBool | None = None
    occupation: ShortText | None = None
    disability: DisabilityInput | None = None
    chronic_illness: ShortText | None = None
    pregnant: StrictBool | None = None
    ppks: Annotated[list[Code("ppks")], Field(max_length=MAX_CODES)] | None = None  # type: ignore[valid-type]


class HouseholdInput(_Input):
    """Household data sent inline for pre-screening; absent fields make criteria unknown."""

    village_code: Annotated[StrictStr, Field(pattern=r"^\d{10}$")] | None = None
    desil: Annotated[StrictInt, Field(ge=1, le=10)] | None = None
    monthly_income: Annotated[Number, Field(ge=0)] | None = None
    registry_status: Code("registry_status") | None = None  # type: ignore[valid-type]
    housing: HousingInput | None = None
    programs_received: (
        Annotated[list[Annotated[StrictStr, Field(max_length=32)]], Field(max_length=MAX_CODES)]
        | None
    ) = None
    ppks: Annotated[list[Code("ppks")], Field(max_length=MAX_CODES)] | None = None  # type: ignore[valid-type]
    members: Annotated[list[MemberInput], Field(max_length=MAX_MEMBERS)] | None = None


class ExplainRequest(_Input):
    """Explain one household: by registry id, or with its data inline (exactly one)."""

    household_id: uuid.UUID | None = None
    household: HouseholdInput | None = None
    on: date | None = Field(default=None, description="evaluation date; today in WITA if absent")
    programs: (
        Annotated[
            list[Annotated[StrictStr, Field(pattern=r"^[A-Z][A-Z0-9_]{1,31}$")]],
            Field(min_length=1, max_length=MAX_CODES),
        ]
        | None
    ) = Field(default=None, description="only these programme codes")


class RuleSetRef(BaseModel):
    """Which rule-set version gave the answer."""

    version: int
    content_sha256: str
    effective_from: date
    effective_to: date | None


class CriterionExplanation(BaseModel):
    """One criterion's answer, with the inputs and parameter values it used."""

    id: str
    label: Label
    text: str
    status: Status
    inputs: dict[str, Any]
    parameters: dict[str, ParameterUsed]
    missing: list[str]


ProgramStatus = Literal["eligible", "not_eligible", "unknown"]


class ProgramExplanation(BaseModel):
    """A household's eligibility for one programme, and why."""

    program: str
    name: str
    name_id: str
    name_en: str
    source_level: str
    owner: str
    benefit: dict[str, Any]
    #: A referral to this programme must be approved by a manager before it is sent.
    requires_manager_approval: bool = False
    status: ProgramStatus
    reason: str | None = None
    reason_code: str | None = None
    excluded_by: list[str] = []
    missing: list[str] = []
    rule_set: RuleSetRef | None = None
    criteria: list[CriterionExplanation] = []


class ExplainResponse(BaseModel):
    """Every programme whose area covers the household, with its answer."""

    household_id: uuid.UUID | None
    village_code: str | None
    evaluated_on: date
    #: False when the caller may not see personal data: criterion inputs are then withheld.
    inputs_shown: bool
    programs: list[ProgramExplanation]


class PortableInput(BaseModel):
    """What a JsonLogic engine is given: the fields of the portable input and their types."""

    household: dict[str, str]
    member: dict[str, str]
    note: str


class JsonLogicExport(BaseModel):
    """A programme's published rule set for one date, as standard JsonLogic."""

    program: str
    version: int
    content_sha256: str
    evaluated_on: date
    criteria: list[dict[str, Any]]
    input: PortableInput
