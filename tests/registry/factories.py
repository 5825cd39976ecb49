"""Valid registry payloads for tests, with NIKs that agree with their members."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import httpx

from selaras_registry.nik import encoded_birth

# Kab. Bantaeng: sub-district 730301 (Bissappu), a desa code under it.
SUBDISTRICT = "730301"
VILLAGE = "7303012005"
OTHER_REGENCY_VILLAGE = "7373011001"  # Kota Palopo, Wara

_serials = itertools.count(1)


def nik(birth_date: date, sex: str, prefix: str = SUBDISTRICT) -> str:
    """A fresh NIK for this person (unique within the test run)."""
    return f"{prefix}{encoded_birth(birth_date, sex)}{next(_serials) % 10000:04d}"  # type: ignore[arg-type]


def kk(prefix: str = SUBDISTRICT) -> str:
    """A fresh family card number."""
    return f"{prefix}120315{next(_serials) % 10000:04d}"


def member(
    name: str = "Andi Baso",
    sex: str = "male",
    birth_date: date = date(1980, 5, 17),
    relationship: str = "kepala_keluarga",
    **extra: Any,
) -> dict[str, Any]:
    """A member payload."""
    return {
        "nik": extra.pop("nik", None) or nik(birth_date, sex),
        "name": name,
        "sex": sex,
        "birth_date": birth_date.isoformat(),
        "relationship": relationship,
        **extra,
    }


def household(village_code: str = VILLAGE, **extra: Any) -> dict[str, Any]:
    """A household payload: a head, a wife and a child."""
    payload: dict[str, Any] = {
        "kk_number": kk(village_code[:6]),
        "address": "Dusun Bonto Jai, Jl. Poros Bantaeng No. 12",
        "rt": "002",
        "rw": "001",
        "village_code": village_code,
        "desil": 2,
        "registry_status": "national",
        "housing": {"floor": "tanah", "wall": "bambu", "roof": "seng", "electricity_va": 450},
        "monthly_income": 900_000,
        "programs_received": ["PKH", "BPNT"],
        "ppks": ["fakir_miskin"],
        "data_source": "dtsen",
        "verified_on": "2025-08-17",
        "members": [
            member(),
            member(
                "Nurhayati Daeng Ngai", "female", date(1984, 2, 3), "istri", marital_status="kawin"
            ),
            member(
                "Muhammad Rafli",
                "male",
                date(2014, 9, 30),
                "anak",
                in_school=True,
                disability={"type": "sensorik_rungu", "severity": "sedang"},
                ppks=["anak_dengan_kedisabilitasan"],
            ),
        ],
    }
    payload.update(extra)
    return payload


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], **extra: Any
) -> dict[str, Any]:
    """Register a household through the API and return it."""
    response = await client.post("/api/v1/households", json=household(**extra), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]
