"""Query and header parameters shared by the referral routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Query

from selaras_shared.pagination import MAX_LIMIT

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=500)]
IfMatch = Annotated[str | None, Header(description="ETag of the version being changed")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="one key per creation; an offline client's retry reuses it",
    ),
]
