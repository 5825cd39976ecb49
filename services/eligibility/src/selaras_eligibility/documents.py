"""Documents from requests and files: rule sets (compiled by the rule language) and
catalogue files, from JSON or YAML."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Literal

import yaml

from selaras_eligibility.errors import document_invalid, field_invalid
from selaras_eligibility.rules.compiler import compile_rule_set
from selaras_eligibility.rules.document import RuleSetDocument, load_document, validate_document
from selaras_eligibility.rules.errors import RuleSetInvalid
from selaras_shared.errors import FieldIssue, InvalidInput, UnsupportedMediaType
from selaras_shared.i18n import Text

YAML_MEDIA_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")

#: Bounds on a document's shape, checked while it is made plain: a YAML file can name one
#: node many times through aliases, and would otherwise expand without limit.
MAX_NODES = 50_000
MAX_DEPTH = 64


class _TooLarge(Exception):
    """The document exceeds MAX_NODES or MAX_DEPTH."""


def parse(body: bytes, media_type: str) -> dict[str, Any]:
    """A catalogue file's content, JSON or YAML, as plain JSON values."""
    if media_type in YAML_MEDIA_TYPES:
        try:
            loaded = yaml.safe_load(body)
        except yaml.YAMLError as exc:
            raise field_invalid(
                "body",
                "yaml_invalid",
                Text("YAML tidak valid: {reason}", "Invalid YAML: {reason}", {"reason": str(exc)}),
            ) from exc
    elif media_type == "application/json" or media_type.endswith("+json"):
        try:
            loaded = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise field_invalid(
                "body", "json_invalid", Text("JSON tidak valid", "Invalid JSON")
            ) from exc
    else:
        raise _unsupported(media_type)
    if not isinstance(loaded, dict):
        raise field_invalid(
            "body",
            "document_not_object",
            Text("Dokumen aturan harus berupa objek", "A rule-set document must be an object"),
        )
    try:
        return _plain(loaded, 0, [0])  # type: ignore[no-any-return]
    except _TooLarge as exc:
        raise field_invalid(
            "body",
            "document_too_large",
            Text(
                "Dokumen terlalu besar atau terlalu dalam (maks. {nodes} simpul, {depth} tingkat)",
                "Document too large or too deep (max {nodes} nodes, {depth} levels)",
                {"nodes": MAX_NODES, "depth": MAX_DEPTH},
            ),
        ) from exc


def _plain(value: Any, depth: int, count: list[int]) -> Any:
    """JSON values only: YAML dates (also as mapping keys, as in dated parameters) become
    ISO strings, so that a YAML and a JSON file with the same content hash alike."""
    count[0] += 1
    if count[0] > MAX_NODES or depth > MAX_DEPTH:
        raise _TooLarge
    if isinstance(value, dict):
        return {_key(k): _plain(v, depth + 1, count) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, depth + 1, count) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN has no JSON form
        raise InvalidInput(
            Text("Nilai NaN tidak diizinkan", "NaN is not allowed"),
        )
    return value


def _key(key: Any) -> str:
    if isinstance(key, datetime | date):
        return key.isoformat()
    return str(key) if not isinstance(key, bool) else str(key).lower()


def rule_set(body: bytes, media_type: str) -> tuple[RuleSetDocument, str]:
    """A rule-set document from a request body or file, validated and compiled; with its
    content hash. Every problem is a 422 field issue whose field is its path in the document."""
    if media_type in YAML_MEDIA_TYPES:
        fmt: Literal["yaml", "json"] = "yaml"
    elif media_type == "application/json" or media_type.endswith("+json"):
        fmt = "json"
    else:
        raise _unsupported(media_type)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise field_invalid(
            "body", "encoding_invalid", Text("Isi bukan UTF-8", "The body is not UTF-8")
        ) from exc
    try:
        return checked(load_document(text, fmt))
    except RuleSetInvalid as exc:
        raise _invalid(exc) from exc


def rule_set_from_data(data: Any) -> tuple[RuleSetDocument, str]:
    """A rule-set document from already-parsed data (a catalogue file), compiled and hashed."""
    try:
        return checked(validate_document(data))
    except RuleSetInvalid as exc:
        raise _invalid(exc) from exc


def checked(document: RuleSetDocument) -> tuple[RuleSetDocument, str]:
    """Compile the document (unknown fields and operations, types, size) and hash it."""
    try:
        compiled = compile_rule_set(document)
    except RuleSetInvalid as exc:
        raise _invalid(exc) from exc
    return document, compiled.content_hash


def _invalid(exc: RuleSetInvalid) -> InvalidInput:
    # A problem with the whole text (syntax, size) has no path: it is about the body.
    issues = [
        FieldIssue(issue.field or "body", issue.code, issue.message) for issue in exc.field_issues()
    ]
    return document_invalid(issues)


def _unsupported(media_type: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        Text(
            "Jenis konten {media_type} tidak didukung; gunakan JSON atau YAML",
            "Content type {media_type} is not supported; use JSON or YAML",
            {"media_type": media_type or "(none)"},
        )
    )
