"""Registry-specific errors, built on the shared domain errors."""

from __future__ import annotations

import uuid

from selaras_shared.errors import Conflict, FieldIssue, InvalidInput, NotFound
from selaras_shared.i18n import Text


def household_not_found(household_id: uuid.UUID) -> NotFound:
    """The household does not exist or lies outside the caller's jurisdiction."""
    return NotFound(
        Text(
            "Keluarga {id} tidak ditemukan di wilayah kerja Anda",
            "Household {id} not found in your jurisdiction",
            {"id": str(household_id)},
        )
    )


def member_not_found(member_id: uuid.UUID) -> NotFound:
    """The member is not an active member of the household."""
    return NotFound(
        Text(
            "Anggota {id} tidak ditemukan pada keluarga ini",
            "Member {id} is not an active member of this household",
            {"id": str(member_id)},
        )
    )


def duplicate_nik(nik: str, holder: uuid.UUID, field: str = "nik") -> Conflict:
    """An active member elsewhere already holds this NIK."""
    return Conflict(
        Text(
            "NIK {nik} sudah terdaftar aktif pada keluarga {household}",
            "NIK {nik} is already registered to household {household}",
            {"nik": nik, "household": str(holder)},
        ),
        errors=[
            FieldIssue(
                field,
                "nik_duplicate",
                Text("NIK sudah terdaftar", "NIK already registered"),
            )
        ],
        household_id=str(holder),
    )


def household_inactive(household_id: uuid.UUID) -> Conflict:
    """Writes to a deactivated household are refused."""
    return Conflict(
        Text(
            "Keluarga {id} sudah dinonaktifkan dan tidak dapat diubah",
            "Household {id} is deactivated and cannot be changed",
            {"id": str(household_id)},
        )
    )


def household_exists(household_id: uuid.UUID) -> Conflict:
    """A client-chosen id is already taken."""
    return Conflict(
        Text(
            "Keluarga dengan id {id} sudah ada",
            "A household with id {id} already exists",
            {"id": str(household_id)},
        )
    )


def head_conflict(existing: uuid.UUID) -> Conflict:
    """A family card has one head."""
    return Conflict(
        Text(
            "Keluarga ini sudah memiliki kepala keluarga (anggota {id})",
            "This household already has a head (member {id})",
            {"id": str(existing)},
        ),
        errors=[
            FieldIssue(
                "relationship",
                "head_exists",
                Text("Kepala keluarga sudah ada", "Head of family already exists"),
            )
        ],
    )


def last_member() -> Conflict:
    """Removing or moving the only member would leave an empty family card."""
    return Conflict(
        Text(
            "Ini anggota aktif terakhir; nonaktifkan keluarganya",
            "This is the last active member; deactivate the household instead",
        )
    )


def field_invalid(field: str, code: str, message: Text) -> InvalidInput:
    """One invalid field found by a domain rule rather than by the schema."""
    return InvalidInput(message, errors=[FieldIssue(field, code, message)])
