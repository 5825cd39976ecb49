"""Change feed and columnar snapshot export of households, for screening consumers.

A consumer exports a region once (`SnapshotService.open`, an Arrow IPC stream carrying the
change-feed cursor it corresponds to) and then follows the feed from that cursor
(`ChangeService.feed`), or asks for the households changed since it, as they are now, in
the same columnar form (`SnapshotService.open` with `since`): what a screening re-run
needs, without a JSON document per change. Why the feed misses nothing is explained in
`repository.changes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import RowMapping, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from selaras_registry.documents import mask_document
from selaras_registry.repository import AccessLogRepository
from selaras_registry.repository.changes import (
    HOUSEHOLD_COPY_COLUMNS,
    MEMBER_COPY_COLUMNS,
    Batch,
    ChangeRepository,
    FeedPosition,
    IdBatch,
    KeyRange,
    SnapshotRepository,
    household_copy,
    member_copy,
)
from selaras_registry.service.households import Caller, _narrowest
from selaras_shared.db import read_only, utcnow
from selaras_shared.errors import FieldIssue, InvalidInput
from selaras_shared.i18n import Text
from selaras_shared.pagination import decode_cursor, encode_cursor

# --- cursors ------------------------------------------------------------------------------


def encode_position(position: FeedPosition) -> str:
    """The opaque cursor of a feed position."""
    return encode_cursor({"txid": position.txid, "id": position.id})


def read_position(token: str, field: str = "since") -> FeedPosition:
    """The feed position in a cursor; a malformed one is a 422 on `field`."""
    try:
        position = decode_cursor(token, ("txid", "id"))
    except InvalidInput:
        position = {}
    values = position.get("txid"), position.get("id")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        raise InvalidInput(
            errors=[
                FieldIssue(
                    field,
                    "cursor_invalid",
                    Text("Kursor perubahan tidak valid", "Invalid change-feed cursor"),
                )
            ]
        )
    return FeedPosition(int(position["txid"]), int(position["id"]))


# --- the change feed ----------------------------------------------------------------------


@dataclass(frozen=True)
class FeedPage:
    """One page of the change feed; `next_cursor` is always set (poll with it)."""

    items: list[dict[str, Any]]
    next_cursor: str
    has_more: bool


class ChangeService:
    """The change feed, over the request's session."""

    def __init__(self, session: AsyncSession, caller: Caller) -> None:
        self.session = session
        self.caller = caller
        self.changes = ChangeRepository(session)
        self.access_log = AccessLogRepository(session)

    async def feed(self, *, since: str | None, region: str | None, limit: int) -> FeedPage:
        """Changes after `since` to households in `region` (narrowed to the caller's
        jurisdiction; a region outside it is forbidden), oldest first."""
        position = read_position(since) if since else FeedPosition()
        scope = _narrowest(self.caller.principal, region or "")
        # First statement of the transaction, before the access log gives it an id.
        rows = await self.changes.after(position, region=scope, limit=limit + 1)
        page, more = rows[:limit], len(rows) > limit
        if page:
            position = FeedPosition(int(page[-1].txid or 0), int(page[-1].id or 0))
        personal = self.caller.sees_personal_data
        principal = self.caller.principal
        items = [
            {
                "household_id": row.household_id,
                "version": row.version,
                "change": row.change,
                "changed_at": row.changed_at,
                "source": row.source,
                "actor_role": row.actor_role,
                "village_code": row.village_code,
                "previous_village_code": row.previous_village_code,
                "reason": row.reason,
                # A household that moved out of the caller's jurisdiction is seen leaving,
                # not where it went.
                "household": (
                    None
                    if not principal.covers(row.village_code)
                    else {**row.document, "masked": False}
                    if personal
                    else {**mask_document(row.document), "masked": True}
                ),
            }
            for row in page
        ]
        read = [row.household_id for row in page if principal.covers(row.village_code)]
        if personal and read:
            await self._log_reads(list(dict.fromkeys(read)), scope)
        return FeedPage(items=items, next_cursor=encode_position(position), has_more=more)

    async def _log_reads(self, household_ids: list[uuid.UUID], region: str) -> None:
        entries = self.caller.reads("feed", list(household_ids), region=region)
        await self.access_log.append(entries)


# --- the snapshot's Arrow schema ------------------------------------------------------------

ARROW_STREAM = "application/vnd.apache.arrow.stream"

_CODES = pa.list_(pa.string())

MEMBER_TYPE = pa.struct(
    [
        ("id", pa.string()),
        ("nik", pa.string()),
        ("name", pa.string()),
        ("sex", pa.string()),
        ("birth_date", pa.date32()),
        ("relationship", pa.string()),
        ("marital_status", pa.string()),
        ("education", pa.string()),
        ("in_school", pa.bool_()),
        ("occupation", pa.string()),
        ("disability_type", pa.string()),
        ("disability_severity", pa.string()),
        ("chronic_illness", pa.string()),
        ("pregnant", pa.bool_()),
        ("ppks", _CODES),
        ("position", pa.int32()),
    ]
)

HOUSING_KEYS = (
    "floor",
    "wall",
    "roof",
    "toilet",
    "water",
    "electricity_va",
    "land_ownership",
)

#: One row per active household; `members` holds its active members in family-card order.
SNAPSHOT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("kk_number", pa.string()),
        ("address", pa.string()),
        ("rt", pa.string()),
        ("rw", pa.string()),
        ("village_code", pa.string()),
        ("desil", pa.int32()),
        ("registry_status", pa.string()),
        *(
            (f"housing_{key}", pa.int32() if key == "electricity_va" else pa.string())
            for key in HOUSING_KEYS
        ),
        ("monthly_income", pa.int64()),
        ("programs_received", _CODES),
        ("ppks", _CODES),
        ("data_source", pa.string()),
        ("verified_on", pa.date32()),
        ("version", pa.int64()),
        ("updated_at", pa.timestamp("us", tz="UTC")),
        ("members", pa.list_(MEMBER_TYPE)),
    ]
)

#: The households that changed after a cursor: their snapshot rows, then one row for each
#: that is no longer among the region's active households (deactivated or moved out), with
#: `present` false and only its id set.
CHANGED_SCHEMA = SNAPSHOT_SCHEMA.append(pa.field("present", pa.bool_(), nullable=False))

_CODE_COLUMNS = frozenset({"programs_received", "ppks"})


def _parse_types(names: Sequence[str], fields: pa.StructType | pa.Schema) -> dict[str, Any]:
    """CSV column types: as in the snapshot, but code lists arrive '|'-joined and
    timestamps as naive UTC."""
    types: dict[str, Any] = {}
    by_name = {field.name: field.type for field in fields}
    for name in names:
        kind = by_name.get(name, pa.string())
        if name in _CODE_COLUMNS:
            kind = pa.string()
        elif pa.types.is_timestamp(kind):
            kind = pa.timestamp("us")
        types[name] = kind
    return types


_HOUSEHOLD_CSV = pa_csv.ConvertOptions(
    column_types=_parse_types(HOUSEHOLD_COPY_COLUMNS, SNAPSHOT_SCHEMA),
    strings_can_be_null=True,
    quoted_strings_can_be_null=False,  # NULL is unquoted and empty, '' is quoted
    null_values=[""],
    true_values=["t"],
    false_values=["f"],
)
_MEMBER_CSV = pa_csv.ConvertOptions(
    column_types=_parse_types(MEMBER_COPY_COLUMNS, MEMBER_TYPE),
    strings_can_be_null=True,
    quoted_strings_can_be_null=False,
    null_values=[""],
    true_values=["t"],
    false_values=["f"],
)
_PARSE = pa_csv.ParseOptions(newlines_in_values=True)


def _read_csv(data: bytes, columns: Sequence[str], convert: pa_csv.ConvertOptions) -> pa.Table:
    if not data:
        types = convert.column_types
        return pa.table({name: pa.array([], types[name]) for name in columns})
    table = pa_csv.read_csv(
        pa.BufferReader(data),
        read_options=pa_csv.ReadOptions(column_names=list(columns), block_size=4 << 20),
        parse_options=_PARSE,
        convert_options=convert,
    )
    return table.combine_chunks()


def _column(table: pa.Table, name: str) -> pa.Array:
    column = table.column(name)
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _split_codes(joined: pa.Array) -> pa.Array:
    """'|'-joined codes ('' for none) as a list<string> array, vectorised."""
    joined = pc.fill_null(joined, "")
    split = pc.split_pattern(joined, "|")
    lengths = pc.if_else(pc.equal(joined, ""), 0, pc.list_value_length(split))
    flat = pc.list_flatten(split)
    values = pc.filter(flat, pc.not_equal(flat, ""))
    offsets = pa.concat_arrays(
        [pa.array([0], pa.int32()), pc.cumulative_sum(lengths).cast(pa.int32())]
    )
    return pa.ListArray.from_arrays(offsets, values, type=_CODES)


def _members_list(household_rows: pa.Array, members: pa.Table) -> pa.Array:
    """The `members` column: each household's members (rows of `members`, in any order,
    `household_row` naming their household's row) in family-card order, vectorised."""
    ordinal = pc.index_in(_column(members, "household_row"), value_set=household_rows)
    if ordinal.null_count:
        raise RuntimeError("snapshot members do not belong to the batch's households")
    position = _column(members, "position")
    key = pc.add(pc.multiply(ordinal.cast(pa.int64()), 1 << 32), position.cast(pa.int64()))
    if len(key) > 1 and not pc.all(pc.greater(pc.pairwise_diff(key), 0)).as_py():
        # Not already grouped by household in family-card order (the join's usual output).
        order = pc.sort_indices(key)
        members = members.take(order)
        ordinal = pc.take(ordinal, order)
    fields = []
    for field in MEMBER_TYPE:
        values = _column(members, field.name)
        fields.append(_split_codes(values) if field.name == "ppks" else values)
    people = pa.StructArray.from_arrays(fields, fields=list(MEMBER_TYPE))
    count = len(household_rows)
    if len(ordinal) == 0:
        offsets = pa.array([0] * (count + 1), pa.int32())
    else:
        runs = pc.run_end_encode(ordinal)
        ends = runs.run_ends.cast(pa.int32())
        if len(runs.values) == count:  # every household has members (the usual case)
            offsets = pa.concat_arrays([pa.array([0], pa.int32()), ends])
        else:
            end_of = dict(zip(runs.values.to_pylist(), ends.to_pylist(), strict=True))
            offsets_list, last = [0], 0
            for index in range(count):
                last = end_of.get(index, last)
                offsets_list.append(last)
            offsets = pa.array(offsets_list, pa.int32())
    return pa.ListArray.from_arrays(offsets, people, type=pa.list_(MEMBER_TYPE))


def batch_from_csv(households_csv: bytes, members_csv: bytes) -> pa.RecordBatch:
    """One snapshot batch from the COPY output (CSV) of `household_copy` and
    `member_copy` for the same households, without a Python object per row."""
    households = _read_csv(households_csv, HOUSEHOLD_COPY_COLUMNS, _HOUSEHOLD_CSV)
    members = _read_csv(members_csv, MEMBER_COPY_COLUMNS, _MEMBER_CSV)
    columns: list[pa.Array] = []
    for field in SNAPSHOT_SCHEMA:
        if field.name == "members":
            columns.append(_members_list(_column(households, "row"), members))
        elif field.name in _CODE_COLUMNS:
            columns.append(_split_codes(_column(households, field.name)))
        elif field.name == "updated_at":
            columns.append(_column(households, field.name).cast(field.type))
        else:
            columns.append(_column(households, field.name))
    return pa.RecordBatch.from_arrays(columns, schema=SNAPSHOT_SCHEMA)


def batch_from_rows(
    households: Sequence[RowMapping], members: Sequence[RowMapping], masked: bool
) -> pa.RecordBatch:
    """One snapshot batch from household and member rows (the portable path)."""
    people: dict[Any, list[dict[str, Any]]] = {}
    for m in members:
        people.setdefault(m["household_id"], []).append(
            {
                "id": str(m["id"]),
                "nik": None if masked else m["nik"],
                "name": None if masked else m["name"],
                "sex": m["sex"],
                "birth_date": None if masked else m["birth_date"],
                "relationship": m["relationship"],
                "marital_status": m["marital_status"],
                "education": m["education"],
                "in_school": m["in_school"],
                "occupation": m["occupation"],
                "disability_type": m["disability_type"],
                "disability_severity": m["disability_severity"],
                "chronic_illness": m["chronic_illness"],
                "pregnant": m["pregnant"],
                "ppks": list(m["ppks"]),
                "position": m["position"],
            }
        )
    values: dict[str, list[Any]] = {field.name: [] for field in SNAPSHOT_SCHEMA}
    for h in households:
        housing = h["housing"] or {}
        row = {
            "id": str(h["id"]),
            "kk_number": None if masked else h["kk_number"],
            "address": None if masked else h["address"],
            **{f"housing_{key}": housing.get(key) for key in HOUSING_KEYS},
            "programs_received": list(h["programs_received"]),
            "ppks": list(h["ppks"]),
            "members": people.get(h["id"], []),
        }
        for name, column in values.items():
            column.append(row[name] if name in row else h[name])
    return pa.RecordBatch.from_arrays(
        [pa.array(values[field.name], field.type) for field in SNAPSHOT_SCHEMA],
        schema=SNAPSHOT_SCHEMA,
    )


class _Chunks:
    """A write-only file that hands out what was written since it was last asked."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(self.parts[-1])

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


# --- the export -------------------------------------------------------------------------------

#: How an export reads: "rows" selects rows (the portable path, the only one off
#: PostgreSQL); on PostgreSQL "keys" and "blocks" COPY batches of households read through
#: the (village_code, id) index or in table-page order; "auto" picks.
Method = Literal["auto", "keys", "blocks", "rows"]

#: Households per record batch on PostgreSQL (COPY) and on the portable path; of the
#: changes since a cursor on PostgreSQL (read by id, smaller: the connections share them).
COPY_BATCH = 25_000
ROWS_BATCH = 5_000
CHANGED_BATCH = 2_500

#: Reading a page in table order costs far less than fetching a row through the index; a
#: region holding at least one household per this many table pages is read in page order.
_PAGES_PER_HOUSEHOLD = 4


@dataclass(frozen=True)
class Since:
    """What an export of the changes after a cursor adds to a snapshot's: the cursor, and
    the households that changed but are no longer among the region's active ones."""

    cursor: str
    removed: list[uuid.UUID]


class SnapshotExport:
    """An open snapshot, streamed as an Arrow IPC stream.

    `cursor` is the change-feed position the snapshot corresponds to. The snapshot is one
    read-only transaction (on PostgreSQL possibly shared by more than one connection, see
    `open_snapshot`); it ends when the stream ends or is abandoned, and `aclose` ends it in
    any case (idempotent). With `since`, it holds only the households changed after that
    cursor (`CHANGED_SCHEMA`).
    """

    def __init__(
        self,
        connections: Sequence[AsyncConnection],
        *,
        region: str,
        masked: bool,
        cursor: str,
        households: int,
        batches: Sequence[Batch],
        copy: bool,
        since: Since | None = None,
    ) -> None:
        self.connections = list(connections)
        self.region = region
        self.masked = masked
        self.cursor = cursor
        self.households = households
        self.batches = list(batches)
        self.copy = copy
        self.since = since
        self.generated_at = utcnow()
        metadata = {
            "selaras.cursor": cursor,
            "selaras.region": region,
            "selaras.generated_at": self.generated_at.isoformat(),
            "selaras.masked": "true" if masked else "false",
            "selaras.households": str(households),
        }
        if since is None:
            self.schema = SNAPSHOT_SCHEMA.with_metadata(metadata)
        else:
            metadata["selaras.since"] = since.cursor
            metadata["selaras.removed"] = str(len(since.removed))
            self.schema = CHANGED_SCHEMA.with_metadata(metadata)
        self._closed = False
        self._pending: deque[asyncio.Future[tuple[bytes, bytes]]] = deque()

    async def stream(self) -> AsyncIterator[bytes]:
        """The Arrow IPC stream: the schema, then one record batch (and chunk) per batch
        of households (and one of the households removed since the cursor), then the
        end-of-stream marker."""
        try:
            sink = _Chunks()
            writer = pa.ipc.new_stream(sink, self.schema)
            batches = self._copied() if self.copy else self._selected()
            async with contextlib.aclosing(batches):
                async for batch in batches:
                    if self.since is not None:
                        batch = _present(batch, True)
                    await anyio.to_thread.run_sync(writer.write_batch, batch)
                    yield sink.take()
            if self.since is not None and self.since.removed:
                writer.write_batch(_removed(self.since.removed))
            writer.close()
            yield sink.take()
        finally:
            await self.aclose()

    async def _selected(self) -> AsyncGenerator[pa.RecordBatch, None]:
        repository = SnapshotRepository(self.connections[0])
        for keys in self.batches:
            assert isinstance(keys, KeyRange | IdBatch)
            households = await repository.households(self.region, keys)
            members = await repository.members(self.region, keys)
            yield batch_from_rows(households, members, self.masked)

    async def _copied(self) -> AsyncGenerator[pa.RecordBatch, None]:
        # Batch i is read on connection i % n, so that n batches are read at once while
        # the oldest one is parsed in a worker thread.
        drivers = []
        for connection in self.connections:
            raw = await connection.get_raw_connection()
            drivers.append(raw.driver_connection)

        async def copy(driver: Any, query: tuple[str, tuple[Any, ...]]) -> bytes:
            chunks: list[bytes] = []

            async def collect(chunk: bytes) -> None:
                chunks.append(chunk)

            sql, arguments = query
            await driver.copy_from_query(sql, *arguments, output=collect, format="csv")
            return b"".join(chunks)

        async def fetch(index: int) -> tuple[bytes, bytes]:
            driver, batch = drivers[index % len(drivers)], self.batches[index]
            households = await copy(driver, household_copy(self.region, batch, masked=self.masked))
            members = await copy(driver, member_copy(self.region, batch, masked=self.masked))
            return households, members

        started = 0
        while started < min(len(drivers), len(self.batches)):
            self._pending.append(asyncio.ensure_future(fetch(started)))
            started += 1
        while self._pending:
            households_csv, members_csv = await self._pending[0]
            self._pending.popleft()
            if started < len(self.batches):
                self._pending.append(asyncio.ensure_future(fetch(started)))
                started += 1
            yield await anyio.to_thread.run_sync(batch_from_csv, households_csv, members_csv)
            del households_csv, members_csv

    async def aclose(self) -> None:
        """End the transaction and give the connections back (safe to call twice)."""
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            interrupted = False
            while self._pending:
                pending = self._pending.popleft()
                interrupted = interrupted or not pending.done()
                pending.cancel()
                with contextlib.suppress(BaseException):  # cancelled or failed: closing anyway
                    await pending
            for connection in self.connections:
                if interrupted:
                    # A COPY cut short can leave the driver mid-protocol: drop the
                    # connections, and the server ends the transaction with them.
                    await connection.invalidate()
                await connection.close()  # rolls back


def _present(batch: pa.RecordBatch, present: bool) -> pa.RecordBatch:
    """A snapshot batch with the `present` column of `CHANGED_SCHEMA`."""
    flags = pa.repeat(pa.scalar(present), batch.num_rows)
    return pa.RecordBatch.from_arrays([*batch.columns, flags], schema=CHANGED_SCHEMA)


def _removed(household_ids: Sequence[uuid.UUID]) -> pa.RecordBatch:
    """Rows of households no longer in the region: the id, nothing else."""
    count = len(household_ids)
    columns = [
        pa.array([str(i) for i in household_ids], pa.string())
        if field.name == "id"
        else pa.nulls(count, field.type)
        for field in SNAPSHOT_SCHEMA
    ]
    return _present(pa.RecordBatch.from_arrays(columns, schema=SNAPSHOT_SCHEMA), False)


#: Settings of the export transaction on PostgreSQL: the text form of dates and timestamps
#: that the CSV reader expects whatever the server's default; no JIT compilation (it costs
#: more than it saves on each of the export's many short queries); no parallel workers
#: (the export runs its own connections in parallel); members reached through their
#: household index rather than by hashing the whole member table for every batch.
_EXPORT_SETTINGS = (
    "SET LOCAL datestyle TO 'ISO, YMD'",
    "SET LOCAL jit TO off",
    "SET LOCAL max_parallel_workers_per_gather TO 0",
    "SET LOCAL enable_hashjoin TO off",
    "SET LOCAL enable_mergejoin TO off",
)

#: Connections that read a COPY export at once (sharing one snapshot): with two, the
#: database works on two batches while the service parses a third.
COPY_CONNECTIONS = 2

_SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+(-[0-9A-F]+)?$")


async def _begin(engine: AsyncEngine, *, postgres: bool) -> AsyncConnection:
    """A connection in a read-only transaction (REPEATABLE READ on PostgreSQL)."""
    connection = await read_only(engine).connect()
    try:
        if postgres:
            connection = await connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        await connection.begin()
    except BaseException:
        with anyio.CancelScope(shield=True):
            await connection.close()
        raise
    return connection


async def open_snapshot(
    engine: AsyncEngine,
    *,
    region: str,
    masked: bool,
    method: Method = "auto",
    batch_size: int | None = None,
    connections: int = COPY_CONNECTIONS,
    since: str | None = None,
) -> SnapshotExport:
    """Open a snapshot of the active households of `region` (a code prefix, '' for all);
    with `since` (a cursor), of the households that changed after it.

    On PostgreSQL the export is one REPEATABLE READ, READ ONLY transaction whose snapshot
    is shared (`pg_export_snapshot`) with `connections - 1` more connections, and batches
    are read with COPY and parsed by Arrow; elsewhere (and with method="rows") rows are
    selected in batches in one read-only transaction. The caller must consume `stream()`
    or call `aclose()`.
    """
    postgres = engine.dialect.name == "postgresql"
    if method in ("keys", "blocks") and not postgres:
        raise ValueError(f"method {method!r} needs PostgreSQL")
    after = read_position(since) if since is not None else None
    copy = postgres and method != "rows"
    opened = [await _begin(engine, postgres=postgres)]
    try:
        main = opened[0]
        repository = SnapshotRepository(main)
        position = await repository.position()  # the first statement takes the snapshot
        batches: Sequence[Batch]
        changed: Since | None = None
        if after is not None:
            size = batch_size or (CHANGED_BATCH if copy else ROWS_BATCH)
            touched = await repository.changed_since(after, region)
            present = [household for household, inside in touched if inside]
            removed = [household for household, inside in touched if not inside]
            changed = Since(encode_position(after), removed)
            households = len(present)
            batches = [
                IdBatch(tuple(present[start : start + size]))
                for start in range(0, len(present), size)
            ]
        else:
            size = batch_size or (COPY_BATCH if copy else ROWS_BATCH)
            households = await repository.count(region)
            pages = await repository.pages() if copy else 0
            if copy and (
                method == "blocks"
                or (method == "auto" and households * _PAGES_PER_HOUSEHOLD >= pages)
            ):
                batches = repository.block_ranges(pages, households, size)
            else:
                batches = await repository.key_ranges(region, households, size)
        if copy:
            if len(batches) > 1 and connections > 1:
                snapshot = str(await main.scalar(text("SELECT pg_export_snapshot()")))
                if not _SNAPSHOT_ID.match(snapshot):
                    raise RuntimeError(f"unexpected snapshot id {snapshot!r}")
                for _ in range(min(connections, len(batches)) - 1):
                    helper = await _begin(engine, postgres=True)
                    opened.append(helper)
                    await helper.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
            for connection in opened:
                for setting in _EXPORT_SETTINGS:
                    await connection.execute(text(setting))
    except BaseException:
        with anyio.CancelScope(shield=True):
            for connection in opened:
                await connection.close()
        raise
    return SnapshotExport(
        opened,
        region=region,
        masked=masked,
        cursor=encode_position(position),
        households=households,
        batches=batches,
        copy=copy,
        since=changed,
    )


class SnapshotService:
    """Snapshot exports for one caller; each export has its own connection."""

    def __init__(self, engine: AsyncEngine, caller: Caller) -> None:
        self.engine = engine
        self.caller = caller

    async def open(self, region: str | None, since: str | None = None) -> SnapshotExport:
        """Open the export of `region` (default: the caller's jurisdiction; one outside it
        is forbidden), or of its households changed after the cursor `since`. Unmasked
        exports are written to the access log first, with the number of households the
        snapshot holds."""
        scope = _narrowest(self.caller.principal, region or "")
        masked = not self.caller.sees_personal_data
        export = await open_snapshot(self.engine, region=scope, masked=masked, since=since)
        if masked:
            return export
        try:
            entries = self.caller.reads("snapshot", [None], region=scope, records=export.households)
            async with AsyncSession(self.engine) as session, session.begin():
                await AccessLogRepository(session).append(entries)
        except BaseException:
            await export.aclose()
            raise
        return export
