"""Queries of screening jobs, their series and the stored per-household outcomes."""

from __future__ import annotations

import io
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import and_, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from selaras_eligibility.models import (
    Program,
    ProgramArea,
    Screening,
    ScreeningRow,
    ScreeningSeries,
)
from selaras_eligibility.repository.catalogue import covering_prefixes

#: Household ids per statement when closing rows (well under every driver's bind limit).
_CHUNK = 5000
_ROW_COLUMNS = ("series_id", "household_id", "valid_from", "village_code", "outcomes")


class ScreeningRepository:
    """Reads and writes of screenings and their rows; flushes, never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def postgres(self) -> bool:
        """Whether the session is on PostgreSQL (COPY is used for rows)."""
        bind = self.session.bind
        return bind is not None and bind.dialect.name == "postgresql"

    # --- the catalogue, as screening needs it -----------------------------------------

    async def programs_overlapping(self, region: str, on: date) -> Sequence[Program]:
        """Programmes active on `on` whose area covers the region or part of it."""
        areas = select(col(ProgramArea.program_id)).where(
            or_(
                col(ProgramArea.prefix).in_(covering_prefixes(region)),
                col(ProgramArea.prefix).startswith(region),
            )
        )
        query = (
            select(Program)
            .where(
                col(Program.id).in_(areas),
                col(Program.active_from) <= on,
                or_(col(Program.active_to).is_(None), col(Program.active_to) >= on),
            )
            .order_by(col(Program.code))
        )
        return (await self.session.scalars(query)).all()

    async def programs_by_code(self, codes: Sequence[str]) -> dict[str, Program]:
        """Programmes by code."""
        rows = await self.session.scalars(select(Program).where(col(Program.code).in_(codes)))
        return {row.code: row for row in rows}

    # --- series and jobs ----------------------------------------------------------------

    async def series_by_key(self, key: str) -> ScreeningSeries | None:
        """The series with this identity, if any run of it was asked for before."""
        found = await self.session.scalars(
            select(ScreeningSeries).where(col(ScreeningSeries.key) == key)
        )
        return found.first()

    async def series(self, series_id: uuid.UUID) -> ScreeningSeries | None:
        """One series by id."""
        return await self.session.get(ScreeningSeries, series_id)

    async def screening(self, screening_id: uuid.UUID) -> Screening | None:
        """One screening by id."""
        return await self.session.get(Screening, screening_id)

    async def screenings(
        self, *, within: str, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> Sequence[Screening]:
        """Screenings of regions within the prefix `within`, newest first."""
        query = (
            select(Screening)
            .where(col(Screening.region).startswith(within))
            .order_by(col(Screening.created_at).desc(), col(Screening.id).desc())
            .limit(limit)
        )
        if after is not None:
            created, last = after
            query = query.where(
                or_(
                    col(Screening.created_at) < created,
                    and_(col(Screening.created_at) == created, col(Screening.id) < last),
                )
            )
        return (await self.session.scalars(query)).all()

    async def set(self, screening_id: uuid.UUID, **values: Any) -> None:
        """Update columns of a screening (progress, heartbeat, outcome)."""
        await self.session.execute(
            update(Screening)
            .where(col(Screening.id) == screening_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def touch(self, screening_ids: Sequence[uuid.UUID], now: datetime) -> None:
        """Renew the heartbeat of jobs this process holds."""
        if screening_ids:
            await self.session.execute(
                update(Screening)
                .where(
                    col(Screening.id).in_(screening_ids),
                    col(Screening.status).in_(("queued", "running")),
                )
                .values(heartbeat_at=now)
                .execution_options(synchronize_session=False)
            )

    async def abandoned(self, stale_before: datetime) -> list[uuid.UUID]:
        """Queued or running jobs whose process stopped renewing their heartbeat."""
        rows = await self.session.scalars(
            select(col(Screening.id)).where(
                col(Screening.status).in_(("queued", "running")),
                or_(
                    col(Screening.heartbeat_at).is_(None),
                    col(Screening.heartbeat_at) < stale_before,
                ),
            )
        )
        return list(rows)

    async def advance_series(self, series_id: uuid.UUID, expected: int, seq: int) -> bool:
        """Move the series to `seq` if it is still at `expected` (one writer wins)."""
        result = await self.session.execute(
            update(ScreeningSeries)
            .where(col(ScreeningSeries.id) == series_id, col(ScreeningSeries.last_seq) == expected)
            .values(last_seq=seq)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    # --- rows ---------------------------------------------------------------------------

    async def close_rows(
        self, series_id: uuid.UUID, household_ids: Sequence[str], seq: int
    ) -> None:
        """End the open rows of these households at screening `seq`."""
        for start in range(0, len(household_ids), _CHUNK):
            chunk = [uuid.UUID(h) for h in household_ids[start : start + _CHUNK]]
            await self.session.execute(
                update(ScreeningRow)
                .where(
                    col(ScreeningRow.series_id) == series_id,
                    col(ScreeningRow.valid_to).is_(None),
                    col(ScreeningRow.household_id).in_(chunk),
                )
                .values(valid_to=seq)
                .execution_options(synchronize_session=False)
            )

    async def close_all(self, series_id: uuid.UUID, seq: int) -> None:
        """End every open row of the series at screening `seq`."""
        await self.session.execute(
            update(ScreeningRow)
            .where(col(ScreeningRow.series_id) == series_id, col(ScreeningRow.valid_to).is_(None))
            .values(valid_to=seq)
            .execution_options(synchronize_session=False)
        )

    async def refresh_statistics(self) -> None:
        """Have PostgreSQL count the rows again (ANALYZE) after a full run wrote a series'
        rows: until its autovacuum does, the planner takes a series for a few hundred rows
        and closes a re-run's rows by scanning all of them instead of through the key."""
        if self.postgres:
            await self.session.execute(text("ANALYZE screening_row"))

    async def add_rows(
        self,
        series_id: uuid.UUID,
        seq: int,
        household_ids: pa.Array,
        villages: pa.Array,
        outcomes: pa.Array,
    ) -> None:
        """Open rows valid from screening `seq` (COPY on PostgreSQL)."""
        if len(household_ids) == 0:
            return
        # In key order: the primary key's index is then appended to rather than written at
        # random places (a million rows COPY in about half the time).
        order = pc.sort_indices(household_ids)
        household_ids, villages, outcomes = (
            household_ids.take(order),
            villages.take(order),
            outcomes.take(order),
        )
        if self.postgres:
            size = len(household_ids)
            table = pa.table(
                [
                    pa.repeat(pa.scalar(str(series_id)), size),
                    household_ids.cast(pa.string()),
                    pa.repeat(pa.scalar(seq, pa.int32()), size),
                    villages.cast(pa.string()),
                    outcomes.cast(pa.string()),
                ],
                names=list(_ROW_COLUMNS),
            )
            buffer = io.BytesIO()
            pa_csv.write_csv(
                table, buffer, pa_csv.WriteOptions(include_header=False, quoting_style="none")
            )
            connection = await self.session.connection()
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            buffer.seek(0)
            await driver.copy_to_table(
                "screening_row", source=buffer, columns=_ROW_COLUMNS, format="csv"
            )
            return
        rows = [
            {
                "series_id": series_id,
                "household_id": uuid.UUID(household),
                "valid_from": seq,
                "village_code": village,
                "outcomes": letters,
            }
            for household, village, letters in zip(
                household_ids.to_pylist(), villages.to_pylist(), outcomes.to_pylist(), strict=True
            )
        ]
        for start in range(0, len(rows), _CHUNK):
            await self.session.execute(insert(ScreeningRow), rows[start : start + _CHUNK])

    async def rows(
        self,
        series_id: uuid.UUID,
        seq: int,
        *,
        after: uuid.UUID | None,
        limit: int,
        program_index: int | None = None,
        letters: str | None = None,
        village: str | None = None,
    ) -> Sequence[ScreeningRow]:
        """A page of the rows valid at screening `seq`, in household-id order; narrowed to
        one programme's letters (1-based position) and a village prefix."""
        query = (
            select(ScreeningRow)
            .where(
                col(ScreeningRow.series_id) == series_id,
                col(ScreeningRow.valid_from) <= seq,
                or_(col(ScreeningRow.valid_to).is_(None), col(ScreeningRow.valid_to) > seq),
            )
            .order_by(col(ScreeningRow.household_id))
            .limit(limit)
        )
        if after is not None:
            query = query.where(col(ScreeningRow.household_id) > after)
        if village:
            query = query.where(col(ScreeningRow.village_code).startswith(village))
        if program_index is not None:
            letter = func.substr(col(ScreeningRow.outcomes), program_index, 1)
            query = query.where(letter.in_(list(letters or "SWNXU")))
        return (await self.session.scalars(query)).all()
