"""Cursor pagination: opaque keyset cursors, validated when they come back."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from selaras_shared.errors import FieldIssue, InvalidInput
from selaras_shared.i18n import Text

T = TypeVar("T")
V = TypeVar("V")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` back as `cursor` for the next page."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(position: dict[str, Any]) -> str:
    """Encode a keyset position as an opaque URL-safe token."""
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, required: tuple[str, ...]) -> dict[str, Any]:
    """Decode a token made by `encode_cursor`; a malformed one is a 422 on `cursor`."""
    try:
        padded = token + "=" * (-len(token) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(position, dict) or any(key not in position for key in required):
            raise ValueError(token)
        return position
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError) as exc:
        raise _invalid_cursor() from exc


def read_cursor(token: str, key: str, convert: Callable[[Any], V]) -> V:
    """The typed value of one key of a cursor; a wrong type is a 422 on `cursor` too."""
    value = decode_cursor(token, (key,))[key]
    try:
        return convert(value)
    except (ValueError, TypeError, AttributeError) as exc:
        raise _invalid_cursor() from exc


def _invalid_cursor() -> InvalidInput:
    return InvalidInput(
        errors=[
            FieldIssue(
                "cursor",
                "cursor_invalid",
                Text("Kursor halaman tidak valid", "Invalid page cursor"),
            )
        ]
    )
