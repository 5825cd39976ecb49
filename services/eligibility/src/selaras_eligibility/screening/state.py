"""The evaluated state a screening leaves for the next run of its series: the households'
rule inputs (no names, NIKs or addresses) with their letters, in Arrow files.

A later run asks the registry only for the households changed since the state's cursor:
their old rows are marked gone and their new rows appended, so that the rows that did not
change are neither copied nor written again.

On disk: the rows in segment files (`<series>/rows-<seq>.arrow`), each written once and
memory-mapped when read, and at `<series>.arrow` the index, rewritten by every run: for
every row of the segments in order, whether it is current and its letters, and in its
metadata the segments' names and the state's cursor, programmes and rule hashes. A save
that finds a quarter of the rows gone (or many segments) writes the current rows into one
segment again.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

from selaras_eligibility.screening.outcomes import Letters

#: Household columns the rules (and ranking) read; the rest of the snapshot is not kept.
HOUSEHOLD_COLUMNS = (
    "id",
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
    "version",
    "members",
)
#: Member fields the rules read.
MEMBER_COLUMNS = (
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
)
_CURRENT = "current"
_BASE = "base"
_FINAL = "outcomes"
_META = b"selaras.state"
#: A save rewrites the current rows into one segment when more than this share of the
#: rows is gone, or when there are more segments than `_MAX_SEGMENTS`.
_GONE_SHARE = 0.25
_MAX_SEGMENTS = 32

Flags = npt.NDArray[np.bool_]
Rows = npt.NDArray[np.int64]


def rule_inputs(table: pa.Table) -> pa.Table:
    """The snapshot narrowed to what rules read (members too), in the same row order."""
    members = table.column("members").combine_chunks()
    member_type = members.type.value_type
    kept = [
        member_type.field(name) for name in MEMBER_COLUMNS if member_type.get_field_index(name) >= 0
    ]
    people = pc.list_flatten(members)
    narrowed = pa.StructArray.from_arrays(
        [pc.struct_field(people, f.name) for f in kept],
        fields=kept,
        mask=pc.invert(people.is_valid()),
    )
    members = pa.ListArray.from_arrays(
        members.offsets, narrowed, mask=pc.invert(members.is_valid())
    )
    columns = [members if name == "members" else table.column(name) for name in HOUSEHOLD_COLUMNS]
    return pa.table(columns, names=list(HOUSEHOLD_COLUMNS))


@dataclass
class State:
    """Household rows (rule inputs) with their letters before (`base`) and after quotas.

    Rows are never removed in place: a household that changed or left has its row marked
    not `current` (its letters are then OUTSIDE), and a changed household's new row is
    appended. The first `saved` rows are those of `segments`, already on disk.
    """

    table: pa.Table
    current: Flags
    base: Letters
    final: Letters
    meta: dict[str, Any] = field(default_factory=dict)
    segments: list[str] = field(default_factory=list)
    saved: int = 0

    @classmethod
    def evaluated(cls, table: pa.Table, base: Letters, final: Letters) -> State:
        """A state of freshly evaluated households, none of them on disk yet."""
        return cls(table, np.ones(table.num_rows, dtype=bool), base, final)

    @property
    def households(self) -> int:
        """How many households the state holds."""
        return int(np.count_nonzero(self.current))

    def households_table(self) -> pa.Table:
        """The current rows only (a copy, unless every row is current)."""
        if self.households == self.table.num_rows:
            return self.table
        return self.table.filter(pa.array(self.current))

    def news(self, changed: pa.Array, fresh: pa.Table) -> tuple[pa.Array, pa.Table]:
        """What of a change set (`changed` ids; `fresh`, those of them still in the region)
        is news to this state. A household served again at the version the state holds is
        not: the registry's snapshot cursor can lag behind what its snapshot held (a change
        committed while an older transaction was open is served again after the cursor),
        and versions never change once written. Nor is one gone that the state does not
        hold."""
        count = len(changed)
        if count == 0:
            return changed, fresh
        held = np.full(count, -1, dtype=np.int64)
        position = _positions(self.table.column("id"), changed)
        rows = np.flatnonzero(self.current & (position >= 0))
        held[position[rows]] = _take(self.table.column("version"), rows).to_numpy()
        served = np.full(count, -2, dtype=np.int64)
        fresh_position = _positions(fresh.column("id"), changed)
        served[fresh_position] = fresh.column("version").to_numpy()
        news = (held != served) & ~((held == -1) & (served == -2))
        if news.all():
            return changed, fresh
        return changed.filter(pa.array(news)), fresh.filter(pa.array(news[fresh_position]))

    def apply(self, changed: pa.Array, fresh: pa.Table) -> tuple[pa.Table, Flags, Rows]:
        """The rows once the households in `changed` (ids) are replaced by `fresh` (those
        of them still in the region, appended after every existing row), which rows are
        then current, and the rows replaced (those of `changed` that were current). Nothing
        is copied: the table gains a chunk."""
        gone = _flags(pc.is_in(self.table.column("id"), value_set=changed))
        replaced = np.flatnonzero(self.current & gone)
        current = np.concatenate([self.current, np.ones(fresh.num_rows, dtype=bool)])
        current[replaced] = False
        if fresh.num_rows == 0:
            return self.table, current, replaced
        return pa.concat_tables([self.table, fresh.cast(self.table.schema)]), current, replaced

    def rewrites(self, updated: State, replaced: Rows) -> tuple[list[str], Rows]:
        """What a run that went from this state to `updated` must store: the households
        whose stored row ends, and the rows of `updated` to store.

        Those are the new rows whose letters or village differ from the row they replace
        (or that replace none), and the rows still current whose letters moved (a quota
        line shifts when households ahead of it change); a household gone from the region
        only has its row ended. A household served again unchanged keeps its stored row.
        """
        old = self.table.num_rows
        ids, villages = updated.table.column("id"), updated.table.column("village_code")
        moved = np.flatnonzero(
            updated.current[:old] & np.any(updated.final[:old] != self.final, axis=1)
        )
        new = np.arange(old, updated.table.num_rows)
        new_ids = ids.slice(old).combine_chunks()
        replaced_ids = _take(ids, replaced).combine_chunks()
        # Each new row against the row it replaces, if any.
        match = pc.index_in(new_ids, value_set=replaced_ids)
        again = np.flatnonzero(match.is_valid().to_numpy(zero_copy_only=False))
        before = replaced[match.drop_null().to_numpy().astype(np.int64)]
        after = new[again]
        same = np.all(updated.final[after] == self.final[before], axis=1) & _flags(
            pc.equal(_take(villages, after), _take(villages, before))
        )
        stored = np.ones(len(new), dtype=bool)
        stored[again[same]] = False
        left = ~_flags(pc.is_in(replaced_ids, value_set=new_ids))
        ended = np.concatenate([moved, replaced[left], before[~same]])
        return _take(ids, ended).to_pylist(), np.concatenate([moved, new[stored]])


def _positions(ids: pa.ChunkedArray | pa.Array, value_set: pa.Array) -> Rows:
    """For each of `ids`, its index in `value_set`, or -1."""
    return np.asarray(
        pc.index_in(ids, value_set=value_set).fill_null(-1).to_numpy(zero_copy_only=False),
        dtype=np.int64,
    )


def _take(column: pa.ChunkedArray, rows: Rows) -> pa.ChunkedArray:
    return column.take(pa.array(rows, pa.int64()))


def _flags(values: pa.ChunkedArray | pa.Array) -> Flags:
    """A boolean Arrow result as numpy (null as false)."""
    return np.asarray(values.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def state_path(data_dir: Path, series_id: uuid.UUID) -> Path:
    """Where the index of the state of a series is kept (its segments are beside it, in
    the directory of the same name without the suffix)."""
    return data_dir / "screenings" / f"{series_id}.arrow"


def save(path: Path, state: State, meta: dict[str, Any]) -> None:
    """Write the state with `meta` (which must have the screening's `seq`): new rows as a
    segment (or every current row as one), then the index, atomically, then remove the
    segments no longer used. A reader sees the old state or the new one."""
    rows = path.with_suffix("")
    rows.mkdir(parents=True, exist_ok=True)
    segments, saved = state.segments, state.saved
    current, base, final = state.current, state.base, state.final
    name = f"rows-{meta['seq']}.arrow"
    gone = state.table.num_rows - state.households
    if gone > _GONE_SHARE * state.table.num_rows or len(segments) >= _MAX_SEGMENTS:
        keep = pa.array(current)
        _write(rows / name, state.table.filter(keep))
        segments = [name]
        base, final = base[current], final[current]
        current = np.ones(len(base), dtype=bool)
    elif saved < state.table.num_rows or not segments:
        _write(rows / name, state.table.slice(saved))
        segments = [*segments, name]
    index = pa.table(
        {_CURRENT: pa.array(current), _BASE: _binary(base), _FINAL: _binary(final)}
    ).replace_schema_metadata({_META: json.dumps({**meta, "segments": segments})})
    _write(path, index)
    for stale in rows.iterdir():
        if stale.name not in segments:
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()


def _write(path: Path, table: pa.Table) -> None:
    """An Arrow IPC file, written aside and then moved into place."""
    partial = path.with_suffix(".partial")
    with pa.OSFile(str(partial), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    os.replace(partial, path)


def _binary(letters: Letters) -> pa.Array:
    """The letters as one fixed-size binary value per household, without a copy per row."""
    rows, width = letters.shape
    data = pa.py_buffer(np.ascontiguousarray(letters).tobytes())
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), rows, [None, data])


def load(path: Path, width: int) -> State | None:
    """The state kept at `path`, or None when there is none (or it cannot be read)."""
    try:
        index = _read(path)
        meta = json.loads((index.schema.metadata or {})[_META])
        segments = [str(name) for name in meta.pop("segments")]
        tables = [_read(path.with_suffix("") / name) for name in segments]
        current = index.column(_CURRENT).to_numpy()
        base = _letters(index.column(_BASE), width)
        final = _letters(index.column(_FINAL), width)
        if not tables or sum(t.num_rows for t in tables) != len(current):
            raise ValueError("state rows do not match its index")
        table = pa.concat_tables(tables)
    except (OSError, KeyError, ValueError, TypeError, pa.ArrowInvalid):
        return None
    return State(table, current, base, final, meta, segments, table.num_rows)


def _read(path: Path) -> pa.Table:
    """An Arrow IPC file, memory-mapped: its buffers are read from the file as used."""
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all()


def _letters(column: pa.ChunkedArray, width: int) -> Letters:
    array = column.combine_chunks()
    if array.type != pa.binary(width) or array.null_count:
        raise ValueError("state letters do not match the programmes")
    data = np.frombuffer(array.buffers()[1], dtype=np.uint8)
    start = array.offset * width
    return data[start : start + width * len(array)].reshape(len(array), width).copy()
