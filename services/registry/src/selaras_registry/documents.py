"""The JSON document of a household (what the API serves and history stores), its diff,
and masking of personal data for principals without the right to see it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from selaras_registry.models import Household, Member

#: Fields that identify a person; masked for principals without personal-data rights.
PERSONAL_FIELDS = frozenset({"nik", "kk_number", "name", "birth_date", "address"})

_NOT_DIFFED = frozenset({"version", "updated_at", "created_at", "masked"})


def _timestamp(at: datetime) -> str:
    """UTC as ISO 8601 with `Z`, the way the API's response models write it."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _deactivation(reason: str | None, note: str | None, at: Any) -> dict[str, Any] | None:
    if reason is None:
        return None
    return {"reason": reason, "note": note, "at": _timestamp(at) if at else None}


def member_document(member: Member) -> dict[str, Any]:
    """A member as JSON."""
    disability = (
        {"type": member.disability_type, "severity": member.disability_severity}
        if member.disability_type
        else None
    )
    return {
        "id": str(member.id),
        "nik": member.nik,
        "name": member.name,
        "sex": member.sex,
        "birth_date": member.birth_date.isoformat(),
        "relationship": member.relationship,
        "marital_status": member.marital_status,
        "education": member.education,
        "in_school": member.in_school,
        "occupation": member.occupation,
        "disability": disability,
        "chronic_illness": member.chronic_illness,
        "pregnant": member.pregnant,
        "ppks": list(member.ppks),
        "status": member.status,
        "deactivation": _deactivation(
            member.deactivation_reason, member.deactivation_note, member.deactivated_at
        ),
    }


def household_document(household: Household, members: list[Member]) -> dict[str, Any]:
    """A household with its active members as JSON (the shape of `HouseholdRead`)."""
    return {
        "id": str(household.id),
        "kk_number": household.kk_number,
        "address": household.address,
        "rt": household.rt,
        "rw": household.rw,
        "village_code": household.village_code,
        "desil": household.desil,
        "registry_status": household.registry_status,
        "housing": dict(household.housing),
        "monthly_income": household.monthly_income,
        "programs_received": list(household.programs_received),
        "ppks": list(household.ppks),
        "data_source": household.data_source,
        "verified_on": household.verified_on.isoformat() if household.verified_on else None,
        "status": household.status,
        "deactivation": _deactivation(
            household.deactivation_reason, household.deactivation_note, household.deactivated_at
        ),
        "version": household.version,
        "created_at": _timestamp(household.created_at),
        "updated_at": _timestamp(household.updated_at),
        "members": [member_document(m) for m in members if m.status == "active"],
    }


def search_tags(household: Household, members: list[Member]) -> set[str]:
    """The search tags of a household: PPKS at either level, and programmes received."""
    tags = {f"ppks:{code}" for code in household.ppks}
    tags.update(f"program:{code}" for code in household.programs_received)
    for member in members:
        if member.status == "active":
            tags.update(f"ppks:{code}" for code in member.ppks)
    return tags


def diff_documents(
    before: dict[str, Any] | None, after: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Changed leaves between two documents, keyed by dotted path (`members.<id>.name`)."""
    changes: dict[str, dict[str, Any]] = {}

    def walk(path: str, old: Any, new: Any) -> None:
        if isinstance(old, dict) and isinstance(new, dict):
            for key in sorted(set(old) | set(new)):
                walk(f"{path}.{key}" if path else key, old.get(key), new.get(key))
        elif old != new:
            changes[path] = {"before": old, "after": new}

    walk("", _comparable(before) if before else {}, _comparable(after))
    return changes


#: The stored diff of a household's first version. Every field of the document is new then,
#: so rather than storing the document twice the diff is derived from it when read
#: (`version_changes`); bulk imports write a million of these.
CREATED: dict[str, Any] = {}


def version_changes(
    change: str, changes: dict[str, dict[str, Any]], document: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """A version's diff as served: a first version's is derived from its document."""
    if change == "created" and not changes:
        return diff_documents(None, document)
    return changes


def _comparable(document: dict[str, Any]) -> dict[str, Any]:
    comparable = {k: v for k, v in document.items() if k not in _NOT_DIFFED}
    comparable["members"] = {m["id"]: m for m in document.get("members", [])}
    return comparable


def mask_value(key: str, value: Any) -> Any:
    """Mask one personal value: identifiers keep their region digits, names their initials."""
    if value is None:
        return None
    if isinstance(value, dict):
        return mask_document(value)
    if isinstance(value, list):
        return [mask_value(key, item) for item in value]
    if key in ("nik", "kk_number"):
        return str(value)[:6] + "*" * 10
    if key == "name":
        return " ".join(word[0] + "***" for word in str(value).split())
    if key == "birth_date":
        return None
    if key == "address":
        return "***"
    return value


def mask_document(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of a document (or part of one) with every personal field masked."""
    return {
        key: mask_value(key, value)
        if key in PERSONAL_FIELDS or isinstance(value, dict | list)
        else value
        for key, value in document.items()
    }


def mask_changes(changes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Mask a history diff: leaves are named by their last path segment."""
    masked: dict[str, dict[str, Any]] = {}
    for path, change in changes.items():
        leaf = path.rsplit(".", 1)[-1]
        masked[path] = {side: mask_value(leaf, value) for side, value in change.items()}
    return masked
