"""Idempotent writes: the `Idempotency-Key` header, request digests and replay checks.

An offline client retries a write with the same key; the service stores its first answer
with the request's digest and replays it for the same body, refusing the key for another.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from selaras_shared.errors import FieldIssue, InvalidInput, PreconditionRequired
from selaras_shared.i18n import Text

IDEMPOTENCY_HEADER = "Idempotency-Key"
#: The response header set on an answer that is a stored one replayed.
REPLAYED_HEADER = "Idempotent-Replayed"

R = TypeVar("R")

_KEY_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,200}")


class IdempotencyKeyReused(InvalidInput):
    """The key was already used by this principal for a different request body."""

    code = "idempotency-key-reused"
    title = Text(
        "Idempotency-Key sudah dipakai untuk permintaan lain",
        "Idempotency-Key already used for a different request",
    )


def idempotency_key(value: str | None) -> str:
    """The `Idempotency-Key` header checked: missing is 428, malformed is 422 naming it."""
    if value is None or not value.strip():
        raise PreconditionRequired(
            Text(
                "Kirim header Idempotency-Key agar pengiriman ulang aman",
                "Send an Idempotency-Key header so that a retry is safe",
            ),
            errors=[
                FieldIssue(IDEMPOTENCY_HEADER, "missing", Text("Wajib diisi", "Field required"))
            ],
        )
    if _KEY_PATTERN.fullmatch(value) is None:
        message = Text(
            "Idempotency-Key harus 1 sampai 200 karakter A-Z, a-z, 0-9, titik, garis bawah, "
            "titik dua atau tanda hubung",
            "Idempotency-Key must be 1 to 200 characters of A-Z, a-z, 0-9, dot, underscore, "
            "colon or hyphen",
        )
        raise InvalidInput(
            message, errors=[FieldIssue(IDEMPOTENCY_HEADER, "idempotency_key_format", message)]
        )
    return value


def request_digest(body: BaseModel | dict[str, Any]) -> str:
    """SHA-256 of a request body in canonical JSON (parsed, keys sorted, no whitespace)."""
    data = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def require_same_request(stored_digest: str, digest: str) -> None:
    """Raise IdempotencyKeyReused (422 naming the header) unless the digests match."""
    if stored_digest == digest:
        return
    raise IdempotencyKeyReused(
        Text(
            "Idempotency-Key ini sudah dipakai untuk permintaan dengan isi berbeda; "
            "gunakan kunci baru untuk permintaan baru",
            "This Idempotency-Key was used for a request with different content; "
            "use a new key for a new request",
        ),
        errors=[
            FieldIssue(
                IDEMPOTENCY_HEADER,
                "idempotency_key_reused",
                Text("Kunci sudah dipakai untuk isi lain", "Key already used for other content"),
            )
        ],
    )


class IdempotencyStore(Generic[R]):
    """Stored answers to keyed writes, one per (scope, subject, key), in a service's own
    table (`model`: a table with `scope`, `subject` and `key` columns, unique together)."""

    def __init__(self, session: AsyncSession, model: type[R]) -> None:
        self.session = session
        self.model = model

    async def find(self, scope: str, subject: str, key: str) -> R | None:
        """The stored record of this key, fresh from the database."""
        model: Any = self.model
        found: R | None = await self.session.scalar(
            select(self.model)
            .where(model.scope == scope, model.subject == subject, model.key == key)
            .execution_options(populate_existing=True)
        )
        return found

    async def claim(self, record: R) -> None:
        """Insert the record before doing the work, so that a concurrent request with the
        same key meets the unique index (on PostgreSQL it waits for this transaction) before
        doing any. Raises IntegrityError when the key is already stored."""
        self.session.add(record)
        await self.session.flush()
