"""The reference date and per-day lookups for birth dates, NIK birth digits and KK dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

REFERENCE_DATE = date(2026, 1, 1)
"""The 'today' of the generated data: ages and dates are computed as of this day."""

MAX_DAYS = 100 * 366  # births up to ~100 years before the reference date
KK_DAYS = (REFERENCE_DATE - date(2008, 1, 1)).days  # family cards issued 2008 or later
VERIFY_DAYS = (REFERENCE_DATE - date(2024, 1, 1)).days  # verified in 2024-2025
NIK_KEYS = 100 * 12 * 32 * 2  # (YY, MM, DD, sex) of the NIK birth digits


@dataclass(frozen=True)
class Dates:
    """Per-day lookups indexed by days before the reference date (1 = the day before)."""

    iso: tuple[str, ...]
    nik_male: tuple[str, ...]
    nik_female: tuple[str, ...]
    nik_key: tuple[int, ...]  # index of (YY, MM, DD) in the NIK counter, times 2


@cache
def day_tables() -> Dates:
    """The per-day lookups, built once per process."""
    iso: list[str] = [""]
    male: list[str] = [""]
    female: list[str] = [""]
    key: list[int] = [0]
    day = REFERENCE_DATE
    one = timedelta(days=1)
    for _ in range(MAX_DAYS):
        day -= one
        yy = day.year % 100
        iso.append(day.isoformat())
        male.append(f"{day.day:02d}{day.month:02d}{yy:02d}")
        female.append(f"{day.day + 40:02d}{day.month:02d}{yy:02d}")
        key.append(((yy * 12 + day.month - 1) * 32 + day.day) * 2)
    return Dates(tuple(iso), tuple(male), tuple(female), tuple(key))


def _age_window(age: int) -> tuple[int, int]:
    """(first, count) of the days-before-reference on which someone aged `age` was born."""
    first = max(1, (REFERENCE_DATE - REFERENCE_DATE.replace(year=REFERENCE_DATE.year - age)).days)
    before = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - age - 1)
    return first, (REFERENCE_DATE - before).days - first


AGE_WINDOW = tuple(_age_window(age) for age in range(100))
