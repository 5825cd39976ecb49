"""Referral-specific errors, built on the shared domain errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from selaras_shared.errors import Conflict, FieldIssue, InvalidInput, InvalidTransition, NotFound
from selaras_shared.i18n import Text


def field_invalid(field: str, code: str, message: Text) -> InvalidInput:
    """One invalid field found by a domain rule rather than by the schema."""
    return InvalidInput(message, errors=[FieldIssue(field, code, message)])


def case_not_found(case_id: uuid.UUID) -> NotFound:
    """The case does not exist, or the caller may not see it."""
    return NotFound(
        Text(
            "Kasus {id} tidak ditemukan",
            "Case {id} not found",
            {"id": str(case_id)},
        )
    )


def referral_not_found(referral_id: uuid.UUID) -> NotFound:
    """The referral does not exist, or the caller may not see it."""
    return NotFound(
        Text("Rujukan {id} tidak ditemukan", "Referral {id} not found", {"id": str(referral_id)})
    )


def case_exists(case_id: uuid.UUID) -> Conflict:
    """A client-chosen case id is already taken (and no Idempotency-Key replays it)."""
    return Conflict(
        Text(
            "Kasus dengan id {id} sudah ada",
            "A case with id {id} already exists",
            {"id": str(case_id)},
        ),
        errors=[FieldIssue("id", "case_exists", Text("Id sudah dipakai", "Id already taken"))],
    )


def case_closed(case_id: uuid.UUID) -> Conflict:
    """A closed case takes no new referrals and no changes."""
    return Conflict(
        Text(
            "Kasus {id} sudah ditutup",
            "Case {id} is closed",
            {"id": str(case_id)},
        )
    )


def not_allowed(action: Text) -> Conflict:
    """The caller's role or organisation may not do this to the resource (it can read it)."""
    return Conflict(action)


def invalid_transition(
    current: str, target: str, allowed: Iterable[str], *, concurrent: bool = False
) -> InvalidTransition:
    """409 listing the states this caller may move the referral to from `current`."""
    allowed_list = list(allowed)
    if concurrent:
        detail = Text(
            "Rujukan baru saja diubah oleh pihak lain menjadi {current}; tidak dapat ke {target}",
            "The referral was just changed by someone else to {current}; cannot move to {target}",
        )
    else:
        detail = Text(
            "Rujukan berstatus {current} tidak dapat Anda ubah ke {target}; yang diizinkan: "
            "{allowed}",
            "You cannot move a referral from {current} to {target}; allowed: {allowed}",
        )
    return InvalidTransition(
        detail.with_params(current=current, target=target, allowed=", ".join(allowed_list) or "-"),
        current_status=current,
        allowed=allowed_list,
    )
