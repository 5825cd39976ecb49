"""Rule-set documents as stored: parsed from JSON or YAML, made plain JSON, hashed, checked."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

import yaml
from pydantic import ValidationError

from selaras_eligibility.errors import document_invalid, field_invalid, issues_from_validation
from selaras_eligibility.schemas import RuleSetHeader
from selaras_shared.errors import InvalidInput, UnsupportedMediaType
from selaras_shared.i18n import Text

YAML_MEDIA_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")

#: Bounds on a document's shape, checked while it is made plain: a YAML file can name one
#: node many times through aliases, and would otherwise expand without limit.
MAX_NODES = 50_000
MAX_DEPTH = 64


class _TooLarge(Exception):
    """The document exceeds MAX_NODES or MAX_DEPTH."""


def parse(body: bytes, media_type: str) -> dict[str, Any]:
    """The document in a request body or file, JSON or YAML, as plain JSON values."""
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
        raise UnsupportedMediaType(
            Text(
                "Jenis konten {media_type} tidak didukung; gunakan JSON atau YAML",
                "Content type {media_type} is not supported; use JSON or YAML",
                {"media_type": media_type or "(none)"},
            )
        )
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


def content_sha256(document: dict[str, Any]) -> str:
    """The hash of a document's canonical JSON form (sorted keys, no spaces, UTF-8)."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check(document: dict[str, Any]) -> RuleSetHeader:
    """The document's header, or a 422 listing every problem with its path in the document.

    The rule language (`selaras_eligibility.rules`) checks the criteria once its compiler
    lands; until then only the header the service relies on is checked here.
    """
    try:
        return RuleSetHeader.model_validate(document)
    except ValidationError as exc:
        raise document_invalid(issues_from_validation(exc)) from exc
