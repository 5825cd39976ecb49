"""Household, member and region request and response models (inputs forbid unknown fields)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from selaras_registry import nik as nik_rules
from selaras_registry import regions
from selaras_registry.codes import (
    DeactivationReason,
    DisabilityType,
    Education,
    Floor,
    LandOwnership,
    MaritalStatus,
    Ppks,
    RecordStatus,
    RegistryStatus,
    Relationship,
    Roof,
    Severity,
    Sex,
    Toilet,
    Wall,
    WaterSource,
)
from selaras_shared.i18n import register_validation_messages

register_validation_messages(
    {
        "nik_format": "NIK harus 16 digit angka",
        "nik_region_unknown": "Kode wilayah NIK {prefix} tidak dikenal",
        "nik_birth_date_invalid": "Digit tanggal lahir NIK {digits} bukan tanggal yang sah",
        "nik_sex_mismatch": "Jenis kelamin pada NIK ({nik_sex}) berbeda dengan data ({sex})",
        "nik_birth_date_mismatch": (
            "Tanggal lahir pada NIK ({digits}) tidak cocok dengan tanggal lahir "
            "{birth_date} (seharusnya {expected})"
        ),
        "nik_duplicate_in_request": "NIK {nik} muncul lebih dari sekali dalam permintaan",
        "kk_format": "Nomor KK harus 16 digit angka",
        "village_code_unknown": "Kode desa/kelurahan {code} tidak dikenal",
        "birth_date_future": "Tanggal lahir tidak boleh di masa depan",
        "head_count": "Keluarga harus memiliki tepat satu kepala keluarga (ada {count})",
        "pregnant_male": "Status hamil hanya untuk perempuan",
        "disability_severity": "Tingkat disabilitas diisi hanya jika jenis disabilitas diisi",
        "note_required": "Keterangan wajib diisi untuk alasan 'other'",
    }
)

_NIK_MESSAGES_EN = {
    "nik_format": "NIK must be 16 digits",
    "nik_region_unknown": "NIK region code {prefix} is unknown",
    "nik_birth_date_invalid": "NIK birth date digits {digits} are not a valid date",
    "nik_sex_mismatch": "Sex encoded in the NIK ({nik_sex}) differs from the record ({sex})",
    "nik_birth_date_mismatch": (
        "Birth date encoded in the NIK ({digits}) does not match birth date "
        "{birth_date} (expected {expected})"
    ),
}


def _nik_error(problem: nik_rules.NikProblem) -> PydanticCustomError:
    return PydanticCustomError(problem.code, _NIK_MESSAGES_EN[problem.code], problem.params)


def _check_nik(value: str) -> str:
    problem = nik_rules.check_format(value)
    if problem is not None:
        raise _nik_error(problem)
    return value


def _check_kk(value: str) -> str:
    if len(value) != 16 or not value.isdigit():
        raise PydanticCustomError("kk_format", "KK number must be 16 digits")
    return value


def _check_village(value: str) -> str:
    region = regions.lookup(value)
    if region is None or region.level != "village":
        raise PydanticCustomError(
            "village_code_unknown", "Village code {code} is unknown", {"code": value}
        )
    return value


def _unique_sorted(values: list[Any]) -> list[Any]:
    return sorted(set(values))


Nik = Annotated[str, Field(examples=["7303084107850001"]), AfterValidator(_check_nik)]
KkNumber = Annotated[str, Field(examples=["7303081203150004"]), AfterValidator(_check_kk)]
VillageCode = Annotated[str, Field(examples=["7303082005"]), AfterValidator(_check_village)]
ProgramCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{1,31}$", examples=["PKH"])]
PpksList = Annotated[list[Ppks], Field(max_length=26), AfterValidator(_unique_sorted)]
ProgramList = Annotated[list[ProgramCode], Field(max_length=50), AfterValidator(_unique_sorted)]
Rupiah = Annotated[int, Field(ge=0, le=10_000_000_000, description="integer rupiah")]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]


class Input(BaseModel):
    """Base of request bodies: unknown fields are an error, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Disability(Input):
    """A member's disability: type and severity."""

    type: DisabilityType
    severity: Severity | None = None


class Housing(Input):
    """Housing conditions used by programme criteria (DTKS variables)."""

    floor: Floor | None = None
    wall: Wall | None = None
    roof: Roof | None = None
    toilet: Toilet | None = None
    water: WaterSource | None = None
    electricity_va: Annotated[int, Field(ge=0, le=200_000)] | None = None
    land_ownership: LandOwnership | None = None


class MemberFields(Input):
    """Member fields other than identity, shared by create and update."""

    relationship: Relationship
    marital_status: MaritalStatus | None = None
    education: Education | None = None
    in_school: bool | None = None
    occupation: Annotated[str, Field(max_length=100)] | None = None
    disability: Disability | None = None
    chronic_illness: Annotated[str, Field(max_length=100)] | None = None
    pregnant: bool = False
    ppks: PpksList = Field(default_factory=list)


class MemberCreate(MemberFields):
    """A member (*anggota keluarga*) to register; NIK must agree with birth date and sex."""

    name: ShortText
    sex: Sex
    birth_date: date
    # Declared after sex and birth date so that its validator can compare them.
    nik: Nik

    @field_validator("birth_date")
    @classmethod
    def _not_in_future(cls, value: date) -> date:
        if value > date.today():
            raise PydanticCustomError("birth_date_future", "Birth date is in the future")
        return value

    @field_validator("nik")
    @classmethod
    def _nik_agrees(cls, value: str, info: ValidationInfo) -> str:
        sex, birth_date = info.data.get("sex"), info.data.get("birth_date")
        if sex is None or birth_date is None:
            return value  # their own errors are reported
        # The Nik type's own validator has run: only the encoded birth date and sex remain.
        problem = nik_rules.check_encoded(value, birth_date, sex.value)
        if problem is not None:
            raise _nik_error(problem)
        return value

    @model_validator(mode="after")
    def _pregnancy(self) -> Self:
        if self.pregnant and self.sex is Sex.male:
            raise PydanticCustomError("pregnant_male", "Only women can be recorded as pregnant")
        return self


class MemberUpdate(Input):
    """Changes to a member; omitted fields stay as they are, `null` clears a field."""

    nik: Nik | None = None
    name: ShortText | None = None
    sex: Sex | None = None
    birth_date: date | None = None
    relationship: Relationship | None = None
    marital_status: MaritalStatus | None = None
    education: Education | None = None
    in_school: bool | None = None
    occupation: Annotated[str, Field(max_length=100)] | None = None
    disability: Disability | None = None
    chronic_illness: Annotated[str, Field(max_length=100)] | None = None
    pregnant: bool | None = None
    ppks: PpksList | None = None


class HouseholdFields(Input):
    """Household fields other than the family card number and members."""

    address: ShortText
    rt: Annotated[str, Field(pattern=r"^\d{1,3}$")] | None = None
    rw: Annotated[str, Field(pattern=r"^\d{1,3}$")] | None = None
    village_code: VillageCode
    desil: Annotated[int, Field(ge=1, le=10)] | None = None
    registry_status: RegistryStatus = RegistryStatus.local
    housing: Housing = Field(default_factory=Housing)
    monthly_income: Rupiah | None = None
    programs_received: ProgramList = Field(default_factory=list)
    ppks: PpksList = Field(default_factory=list)
    data_source: Annotated[str, Field(min_length=1, max_length=50)] = "puskesos"
    verified_on: date | None = None


class HouseholdCreate(HouseholdFields):
    """A family (one family card, *Kartu Keluarga*) with its members."""

    id: uuid.UUID | None = Field(
        default=None, description="client-generated id (offline clients); server-made if absent"
    )
    kk_number: KkNumber
    members: Annotated[list[MemberCreate], Field(min_length=1, max_length=30)]

    @field_validator("members")
    @classmethod
    def _members_consistent(cls, members: list[MemberCreate]) -> list[MemberCreate]:
        heads = sum(m.relationship is Relationship.kepala_keluarga for m in members)
        if heads != 1:
            raise PydanticCustomError(
                "head_count", "A family needs exactly one head (found {count})", {"count": heads}
            )
        seen: set[str] = set()
        for member in members:
            if member.nik in seen:
                raise PydanticCustomError(
                    "nik_duplicate_in_request",
                    "NIK {nik} appears more than once in the request",
                    {"nik": member.nik},
                )
            seen.add(member.nik)
        return members


class HouseholdUpdate(Input):
    """Changes to a household (JSON merge patch); members change through their own routes."""

    kk_number: KkNumber | None = None
    address: ShortText | None = None
    rt: Annotated[str, Field(pattern=r"^\d{1,3}$")] | None = None
    rw: Annotated[str, Field(pattern=r"^\d{1,3}$")] | None = None
    village_code: VillageCode | None = None
    desil: Annotated[int, Field(ge=1, le=10)] | None = None
    registry_status: RegistryStatus | None = None
    housing: Housing | None = None
    monthly_income: Rupiah | None = None
    programs_received: ProgramList | None = None
    ppks: PpksList | None = None
    data_source: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    verified_on: date | None = None


class Deactivation(Input):
    """Why a record leaves the registry; `note` is required for `other`."""

    reason: DeactivationReason
    note: Annotated[str, Field(max_length=500)] | None = None

    @model_validator(mode="after")
    def _note_for_other(self) -> Self:
        if self.reason is DeactivationReason.other and not self.note:
            raise PydanticCustomError("note_required", "A note is required for reason 'other'")
        return self


class MemberMove(Input):
    """Move a member to another household, with their relationship there."""

    target_household_id: uuid.UUID
    relationship: Relationship


# --- responses -------------------------------------------------------------------------


class DeactivationRead(BaseModel):
    """When and why a record was deactivated."""

    reason: DeactivationReason
    note: str | None = None
    at: datetime


class MemberRead(BaseModel):
    """A member as served; NIK, name and birth date are masked without personal-data rights."""

    id: uuid.UUID
    nik: str
    name: str
    sex: Sex
    birth_date: date | None
    relationship: Relationship
    marital_status: MaritalStatus | None = None
    education: Education | None = None
    in_school: bool | None = None
    occupation: str | None = None
    disability: Disability | None = None
    chronic_illness: str | None = None
    pregnant: bool = False
    ppks: list[Ppks] = []
    status: RecordStatus = RecordStatus.active
    deactivation: DeactivationRead | None = None


class HouseholdRead(BaseModel):
    """A household as served, with its active members."""

    id: uuid.UUID
    kk_number: str
    address: str
    rt: str | None = None
    rw: str | None = None
    village_code: str
    desil: int | None = None
    registry_status: RegistryStatus
    housing: Housing
    monthly_income: int | None = None
    programs_received: list[str] = []
    ppks: list[Ppks] = []
    data_source: str
    verified_on: date | None = None
    status: RecordStatus
    deactivation: DeactivationRead | None = None
    version: int
    created_at: datetime
    updated_at: datetime
    members: list[MemberRead]
    masked: bool = Field(default=False, description="true when personal data is masked")


class HistoryEntry(BaseModel):
    """One version of a household: who changed what, when, from where."""

    version: int
    changed_at: datetime
    actor: str
    actor_role: str
    actor_organization: str | None = None
    source: str
    change: str
    reason: str | None = None
    changes: dict[str, dict[str, Any]]


class RegionRead(BaseModel):
    """A region (province, regency, sub-district or village)."""

    code: str
    name: str | None
    level: Literal["province", "regency", "subdistrict", "village"]
    parent: str | None
    ancestors: list[RegionRead] = []
