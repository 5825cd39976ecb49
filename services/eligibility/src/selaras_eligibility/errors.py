"""Eligibility-specific errors, built on the shared domain errors."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from selaras_shared.errors import Conflict, FieldIssue, InvalidInput, InvalidTransition, NotFound
from selaras_shared.i18n import Text, validation_message


def organization_not_found(key: str) -> NotFound:
    """No organisation with this id or code."""
    return NotFound(
        Text("Organisasi {key} tidak ditemukan", "Organisation {key} not found", {"key": key})
    )


def program_not_found(key: str) -> NotFound:
    """No programme with this id or code."""
    return NotFound(
        Text("Program {key} tidak ditemukan", "Programme {key} not found", {"key": key})
    )


def rule_set_not_found(program: str, version: int) -> NotFound:
    """The programme has no rule set with this version number."""
    return NotFound(
        Text(
            "Program {program} tidak memiliki aturan versi {version}",
            "Programme {program} has no rule set version {version}",
            {"program": program, "version": version},
        )
    )


def code_taken(kind_id: str, kind_en: str, code: str) -> Conflict:
    """Another organisation or programme already uses this code."""
    return Conflict(
        Text(
            f"{kind_id} dengan kode {{code}} sudah ada",
            f"A {kind_en} with code {{code}} already exists",
            {"code": code},
        ),
        errors=[
            FieldIssue("code", "code_taken", Text("Kode sudah dipakai", "Code already in use"))
        ],
    )


def field_invalid(field: str, code: str, message: Text) -> InvalidInput:
    """One invalid field found by a domain rule rather than by the schema."""
    return InvalidInput(message, errors=[FieldIssue(field, code, message)])


def issues_from_validation(exc: ValidationError, prefix: str = "") -> list[FieldIssue]:
    """Field issues, in both languages, from a pydantic error on a document (not a request)."""
    issues = []
    for err in exc.errors():
        ctx: dict[str, Any] = {
            k: v for k, v in (err.get("ctx") or {}).items() if isinstance(v, str | int | float)
        }
        english = str(err.get("msg", "Invalid value"))
        kind = str(err["type"])
        path = ".".join(str(part) for part in err["loc"]) or "body"
        issues.append(
            FieldIssue(
                f"{prefix}{path}",
                kind,
                Text(
                    validation_message(kind, english, ctx, "id"),
                    validation_message(kind, english, ctx, "en"),
                ),
            )
        )
    return issues


def document_invalid(issues: list[FieldIssue]) -> InvalidInput:
    """The rule-set document has problems; each names its path in the document."""
    return InvalidInput(
        Text(
            "Dokumen aturan memiliki {n} masalah",
            "The rule-set document has {n} problem(s)",
            {"n": len(issues)},
        ),
        errors=issues,
    )


def rule_set_immutable(version: int, status: str) -> InvalidTransition:
    """Only a draft rule set may change; published and retired versions are frozen."""
    return InvalidTransition(
        Text(
            "Aturan versi {version} berstatus {status} dan tidak dapat diubah",
            "Rule set version {version} is {status} and cannot be changed",
            {"version": version, "status": status},
        ),
        status_now=status,
    )


def rule_set_duplicate(version: int) -> Conflict:
    """The same document (same content hash) is already stored for this programme."""
    return Conflict(
        Text(
            "Dokumen yang sama sudah tersimpan sebagai versi {version}",
            "The same document is already stored as version {version}",
            {"version": version},
        ),
        existing_version=version,
    )
