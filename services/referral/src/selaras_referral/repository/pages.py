"""Keyset pages, newest first, over (created_at, id)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from selaras_shared.pagination import decode_cursor, encode_cursor, read_cursor


class Keyed(Protocol):
    """A row with the page key."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def created_at(self) -> datetime: ...


T = TypeVar("T", bound=Keyed)


async def newest_first(
    session: AsyncSession,
    statement: Select[T],
    created_at: InstrumentedAttribute[Any],
    id_: InstrumentedAttribute[Any],
    *,
    limit: int,
    cursor: str | None,
) -> tuple[Sequence[T], str | None]:
    """One page of `statement`'s rows, newest first, and the cursor of the next page."""
    if cursor is not None:
        after = read_cursor(cursor, "t", datetime.fromisoformat)
        last_id = uuid.UUID(str(decode_cursor(cursor, ("t", "id"))["id"]))
        statement = statement.where(
            or_(created_at < after, and_(created_at == after, id_ < last_id))
        )
    rows = (
        await session.scalars(statement.order_by(created_at.desc(), id_.desc()).limit(limit + 1))
    ).all()
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    token = encode_cursor({"t": last.created_at.isoformat(), "id": str(last.id)})
    return rows[:limit], token
