"""NIK (Nomor Induk Kependudukan) checks: 16 digits, known region, birth date and sex.

Digits 1-6 are the sub-district of issuance, 7-12 the birth date as DDMMYY with 40 added
to the day for women, 13-16 a serial number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from selaras_registry import regions

Sex = Literal["male", "female"]


@dataclass(frozen=True)
class NikProblem:
    """Why a NIK is not acceptable: a machine code and parameters for the message."""

    code: str
    params: dict[str, str]


def check_format(nik: str) -> NikProblem | None:
    """Shape and region of a NIK on its own (no person data needed)."""
    if len(nik) != 16 or not nik.isdigit():
        return NikProblem("nik_format", {})
    if not regions.is_known_subdistrict(nik[:6]):
        return NikProblem("nik_region_unknown", {"prefix": nik[:6]})
    day, month = int(nik[6:8]), int(nik[8:10])
    real_day = day - 40 if day > 40 else day
    if not (1 <= real_day <= 31 and 1 <= month <= 12):
        return NikProblem("nik_birth_date_invalid", {"digits": nik[6:12]})
    return None


def encoded_birth(birth_date: date, sex: Sex) -> str:
    """The six NIK digits (DDMMYY, day + 40 for women) for this birth date and sex."""
    day = birth_date.day + (40 if sex == "female" else 0)
    return f"{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}"


def check_person(nik: str, birth_date: date, sex: Sex) -> NikProblem | None:
    """Whether the birth date and sex encoded in `nik` agree with the person's."""
    return check_format(nik) or check_encoded(nik, birth_date, sex)


def check_encoded(nik: str, birth_date: date, sex: Sex) -> NikProblem | None:
    """`check_person` for a NIK that already passed `check_format` (not checked again)."""
    day = int(nik[6:8])
    nik_sex: Sex = "female" if day > 40 else "male"
    if nik_sex != sex:
        return NikProblem("nik_sex_mismatch", {"nik_sex": nik_sex, "sex": sex})
    expected = encoded_birth(birth_date, sex)
    if nik[6:12] != expected:
        return NikProblem(
            "nik_birth_date_mismatch",
            {"digits": nik[6:12], "expected": expected, "birth_date": birth_date.isoformat()},
        )
    return None
