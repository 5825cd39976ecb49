"""Change feed and snapshot queries: versions in feed order, the snapshot's feed position,
and the household and member rows of a region in (village_code, id) key order.

Why the feed order misses nothing
---------------------------------
Every `HouseholdVersion` row is one change, and the feed returns them ordered by
(`txid`, `id`), after the (`txid`, `id`) position in the consumer's cursor.

On PostgreSQL `txid` is the id of the transaction that wrote the row. Transaction ids (and
the row ids from the sequence) are handed out *before* commit, so rows become visible out
of order: transaction 9 may commit after transaction 10. A reader that served 10's row and
moved its cursor past it would never see 9's. The rule that prevents this: serve only rows
with `txid < xmin` of the statement's snapshot (`pg_snapshot_xmin(pg_current_snapshot())`),
evaluated in the *same* SQL statement as the row selection, so that both use one READ
COMMITTED statement snapshot. Every transaction with an id below the snapshot's xmin has
finished, so the rows below it are all visible (or rolled back and gone) and none can
appear later; every transaction that commits later has an id >= xmin, so it sorts after
anything served. The order is therefore gap-free, at the price of a delay: a change is
served once every transaction that started before it has ended.

The feed select must run before the request's transaction writes anything (the access log):
a write gives the transaction an id of its own, which would be the snapshot's xmin and hold
back the feed's own rows.

On SQLite writers are serialised (BEGIN IMMEDIATE), so `id` order is commit order and
`txid` is 0.

A snapshot export (REPEATABLE READ on PostgreSQL) corresponds to the feed position of the
last version below its snapshot's xmin: everything up to that position is in the snapshot;
some later versions may be in it too (committed before the snapshot with an id >= xmin),
and a consumer following the feed from that position skips them by version.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    RowMapping,
    Table,
    and_,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import SQLModel, col

from selaras_registry.models import Household, HouseholdVersion, Member
from selaras_registry.repository.households import region_range

#: The xmin of the current statement's snapshot, as a bigint comparable with `txid`.
_SNAPSHOT_XMIN = "(SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint)"

_HOUSEHOLD: Table = SQLModel.metadata.tables["household"]
_MEMBER: Table = SQLModel.metadata.tables["member"]

#: Keyset bounds below and above every household key.
_NO_ID = uuid.UUID(int=0)
_LAST_ID = uuid.UUID(int=(1 << 128) - 1)


@dataclass(frozen=True, order=True)
class FeedPosition:
    """A position in the change feed: after the version (`txid`, `id`)."""

    txid: int = 0
    id: int = 0


def _code_in(column: Any, prefix: str) -> ColumnElement[bool]:
    low, high = region_range(prefix)
    return and_(column >= low, column <= high)


class ChangeRepository:
    """Versions in feed order."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def after(
        self, position: FeedPosition, *, region: str, limit: int
    ) -> list[HouseholdVersion]:
        """Up to `limit` versions after `position` touching `region` (where the household
        is, or where it was when the change moved it), in feed order."""
        version = HouseholdVersion
        statement = select(version).where(_after(position))
        if self.session.get_bind().dialect.name == "postgresql":
            statement = statement.where(col(version.txid) < literal_column(_SNAPSHOT_XMIN))
        if region:
            statement = statement.where(_touches(region))
        statement = statement.order_by(col(version.txid), col(version.id)).limit(limit)
        return list(await self.session.scalars(statement))


def _after(position: FeedPosition) -> ColumnElement[bool]:
    version = HouseholdVersion
    return tuple_(col(version.txid), col(version.id)) > tuple_(position.txid, position.id)


def _touches(region: str) -> ColumnElement[bool]:
    """Versions that put their household in `region`, or moved it out of there."""
    return or_(
        _code_in(col(HouseholdVersion.village_code), region),
        _code_in(col(HouseholdVersion.previous_village_code), region),
    )


# --- snapshots ---------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyRange:
    """Households with (village_code, id) in (`after`, `upto`], read through the index
    ix_household_village_id: for a region that is a small part of the table."""

    after: tuple[str, uuid.UUID]
    upto: tuple[str, uuid.UUID]


@dataclass(frozen=True)
class BlockRange:
    """Households stored in table pages [`first`, `end`) (PostgreSQL, a TID range scan):
    a sequential read, for a region that is a large part of the table."""

    first: int
    end: int | None


@dataclass(frozen=True)
class IdBatch:
    """Households with these ids (an export of the households changed since a cursor)."""

    ids: tuple[uuid.UUID, ...]


Batch = KeyRange | BlockRange | IdBatch


class SnapshotRepository:
    """Reads of one snapshot transaction (the caller opens it)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"

    async def position(self) -> FeedPosition:
        """The feed position the snapshot corresponds to (see the module docstring)."""
        version = HouseholdVersion
        if self.postgres:
            row = (
                await self.connection.execute(
                    select(col(version.txid), col(version.id))
                    .where(col(version.txid) < literal_column(_SNAPSHOT_XMIN))
                    .order_by(col(version.txid).desc(), col(version.id).desc())
                    .limit(1)
                )
            ).first()
            return FeedPosition(row[0] or 0, row[1] or 0) if row else FeedPosition()
        last = await self.connection.scalar(select(func.max(col(version.id))))
        return FeedPosition(0, int(last or 0))

    async def count(self, region: str) -> int:
        """How many active households `region` has."""
        count = await self.connection.scalar(
            select(func.count())
            .select_from(Household)
            .where(col(Household.status) == "active", _code_in(col(Household.village_code), region))
        )
        return int(count or 0)

    async def key_ranges(self, region: str, count: int, size: int) -> list[KeyRange]:
        """Key ranges of `size` of the `count` active households of `region`."""
        if not count:
            return []
        # Every `size`-th key in (village_code, id) order (ix_household_village_id).
        ordinal = (
            func.row_number()
            .over(order_by=(col(Household.village_code), col(Household.id)))
            .label("n")
        )
        keys = (
            select(col(Household.village_code), col(Household.id), ordinal)
            .where(
                col(Household.status) == "active",
                _code_in(col(Household.village_code), region),
            )
            .subquery()
        )
        rows = await self.connection.execute(
            select(keys.c.village_code, keys.c.id)
            .where(keys.c.n % size == 0)
            .order_by(keys.c.village_code, keys.c.id)
        )
        bounds: list[tuple[str, uuid.UUID]] = [("", _NO_ID)]  # below every key
        bounds += [(str(v), _as_uuid(i)) for v, i in rows]
        if len(bounds) == 1 or count % size:
            bounds.append((region_range(region)[1], _LAST_ID))
        return [KeyRange(a, b) for a, b in itertools.pairwise(bounds)]

    async def changed_since(
        self, position: FeedPosition, region: str
    ) -> list[tuple[uuid.UUID, bool]]:
        """Households with a version after `position` that put them in `region` or moved
        them out of it, as far as this snapshot sees, each with whether it is an active
        household of `region` now.

        A version that an earlier snapshot at `position` did not see comes after `position`
        in feed order (see the module docstring), so these are all the households of the
        region that may differ from that snapshot (and some that do not).
        """
        version = HouseholdVersion
        where = [_after(position), *([_touches(region)] if region else [])]
        touched = select(col(version.household_id).label("id")).where(*where).distinct().subquery()
        present = and_(
            col(Household.status) == "active", _code_in(col(Household.village_code), region)
        )
        rows = await self.connection.execute(
            select(touched.c.id, present).join(Household, col(Household.id) == touched.c.id)
        )
        return [(_as_uuid(household), bool(inside)) for household, inside in rows]

    async def pages(self) -> int:
        """How many pages the household table has (PostgreSQL)."""
        pages = await self.connection.scalar(
            text("SELECT pg_relation_size('household') / current_setting('block_size')::int")
        )
        return int(pages or 0)

    @staticmethod
    def block_ranges(pages: int, count: int, size: int) -> list[BlockRange]:
        """Page ranges of the household table holding about `size` of `count` households
        each; the last one is open-ended."""
        if not count:
            return []
        batches = max(1, -(-count // size))
        step = max(1, -(-pages // batches))
        starts = list(range(0, max(pages, 1), step))
        return [
            BlockRange(start, starts[i + 1] if i + 1 < len(starts) else None)
            for i, start in enumerate(starts)
        ]

    async def households(self, region: str, keys: KeyRange | IdBatch) -> list[RowMapping]:
        """The active households of `region` in `keys`, in key order (column name to
        value)."""
        statement = (
            select(*_HOUSEHOLD.columns)
            .where(col(Household.status) == "active", *_in_keys(region, keys))
            .order_by(col(Household.village_code), col(Household.id))
        )
        return list((await self.connection.execute(statement)).mappings())

    async def members(self, region: str, keys: KeyRange | IdBatch) -> list[RowMapping]:
        """The active members of the active households of `region` in `keys`, household
        by household in key order, each household's in family-card order (column name to
        value)."""
        statement = (
            select(*_MEMBER.columns)
            .join(Household, col(Household.id) == col(Member.household_id))
            .where(
                col(Household.status) == "active",
                col(Member.status) == "active",
                *_in_keys(region, keys),
            )
            .order_by(col(Household.village_code), col(Household.id), col(Member.position))
        )
        return list((await self.connection.execute(statement)).mappings())


def _in_keys(region: str, keys: KeyRange | IdBatch) -> list[ColumnElement[bool]]:
    inside = _code_in(col(Household.village_code), region)
    if isinstance(keys, IdBatch):
        return [inside, col(Household.id).in_(keys.ids)]
    key = tuple_(col(Household.village_code), col(Household.id))
    return [inside, key > tuple_(*keys.after), key <= tuple_(*keys.upto)]


def _as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


# --- the PostgreSQL COPY path --------------------------------------------------------------

#: Household columns of a snapshot batch, in the order of `household_copy`. `row` is the
#: row's address in the table (ctid), the same in both queries of a batch since they read
#: one snapshot: it ties members to their household for less than the household id costs
#: to print on every member row.
HOUSEHOLD_COPY_COLUMNS = (
    "row",
    "id",
    "kk_number",
    "address",
    "rt",
    "rw",
    "village_code",
    "desil",
    "registry_status",
    "housing_floor",
    "housing_wall",
    "housing_roof",
    "housing_toilet",
    "housing_water",
    "housing_electricity_va",
    "housing_land_ownership",
    "monthly_income",
    "programs_received",
    "ppks",
    "data_source",
    "verified_on",
    "version",
    "updated_at",
)

#: Member columns of a snapshot batch, in the order of `member_copy`; `household_row` is
#: the household's `row`.
MEMBER_COPY_COLUMNS = (
    "household_row",
    "id",
    "nik",
    "name",
    "sex",
    "birth_date",
    "relationship",
    "marital_status",
    "education",
    "in_school",
    "occupation",
    "disability_type",
    "disability_severity",
    "chronic_illness",
    "pregnant",
    "ppks",
    "position",
)

#: A JSON array of codes as one '|'-separated string ('' when empty): its text `["A", "B"]`
#: with the separators turned into '|' and the brackets, quotes and spaces dropped, which is
#: exact because codes (PPKS and programme codes, checked on input) are made of letters,
#: digits and '_' only; several times cheaper than unnesting the array.
_CODES = "translate({}::text, ',[]\" ', '|')"


def _copy_filter(region: str, batch: Batch) -> tuple[str, tuple[Any, ...]]:
    """The WHERE clause selecting the active households of `batch` within `region`
    (alias `h`), with its parameters."""
    low, high = region_range(region)
    where = "h.status = 'active' AND h.village_code BETWEEN $1 AND $2"
    if isinstance(batch, IdBatch):
        return where + " AND h.id = ANY($3::uuid[])", (low, high, list(batch.ids))
    if isinstance(batch, KeyRange):
        where += (
            " AND (h.village_code, h.id) > ($3, $4::uuid)"
            " AND (h.village_code, h.id) <= ($5, $6::uuid)"
        )
        return where, (low, high, *batch.after, *batch.upto)
    where += " AND h.ctid >= $3::tid"
    if batch.end is None:
        return where, (low, high, (batch.first, 0))
    return where + " AND h.ctid < $4::tid", (low, high, (batch.first, 0), (batch.end, 0))


def household_copy(region: str, batch: Batch, *, masked: bool) -> tuple[str, tuple[Any, ...]]:
    """The households of a batch, one row each in `HOUSEHOLD_COPY_COLUMNS` order (for
    COPY ... TO STDOUT), and the query's parameters."""
    personal = "NULL, NULL" if masked else "h.kk_number, h.address"
    housing = ", ".join(
        f"h.housing->>'{key}'"
        for key in ("floor", "wall", "roof", "toilet", "water", "electricity_va", "land_ownership")
    )
    where, arguments = _copy_filter(region, batch)
    order = " ORDER BY h.village_code, h.id" if isinstance(batch, KeyRange) else ""
    sql = (
        f"SELECT h.ctid, h.id, {personal}, h.rt, h.rw, h.village_code, h.desil,"
        " h.registry_status,"
        f" {housing}, h.monthly_income,"
        f" {_CODES.format('h.programs_received')}, {_CODES.format('h.ppks')},"
        " h.data_source, h.verified_on, h.version, h.updated_at AT TIME ZONE 'UTC'"
        f" FROM household h WHERE {where}{order}"
    )
    return sql, arguments


def member_copy(region: str, batch: Batch, *, masked: bool) -> tuple[str, tuple[Any, ...]]:
    """The active members of the households of a batch, in `MEMBER_COPY_COLUMNS` order and
    in no particular order (for COPY ... TO STDOUT), and the query's parameters."""
    personal = "NULL, NULL" if masked else "m.nik, m.name"
    birth = "NULL" if masked else "m.birth_date"
    where, arguments = _copy_filter(region, batch)
    sql = (
        f"SELECT h.ctid, m.id, {personal}, m.sex, {birth}, m.relationship, m.marital_status,"
        " m.education, m.in_school, m.occupation, m.disability_type, m.disability_severity,"
        f" m.chronic_illness, m.pregnant, {_CODES.format('m.ppks')}, m.position"
        f" FROM household h JOIN member m ON m.household_id = h.id"
        f" WHERE {where} AND m.status = 'active'"
    )
    return sql, arguments
