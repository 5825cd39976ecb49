"""The snapshot table decoded into numpy columns, shared by every rule set evaluated on it.

Only the fields the rules read are decoded, each once, chunk by chunk (the members column
is never copied whole: each member field is taken out of every chunk's flattened members).
Member fields are put in the slot layout of `members.Members`. Code fields compared with
a few literals are answered from the strings themselves (`matches`), which is cheaper than
giving every string a code id; other uses of a code field get code ids.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import date
from functools import lru_cache, reduce
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

from selaras_eligibility.rules.batch.arrays import (
    apply,
    bits,
    empty,
    full,
    joined,
    take,
    zeros,
)
from selaras_eligibility.rules.batch.members import Members
from selaras_eligibility.rules.batch.values import (
    Array,
    CodeLists,
    Column,
    Mask,
)
from selaras_eligibility.rules.fields import FieldSpec, ValueType

#: Up to this many literals, a code field's test is made on its strings, one literal at a
#: time; beyond, through code ids.
FEW_CODES = 4

_ARROW_TYPES = {
    ValueType.number: pa.float64(),
    ValueType.boolean: pa.bool_(),
    ValueType.code: pa.string(),
    ValueType.codes: pa.list_(pa.string()),
}


class Vocabulary:
    """Code ids of the strings met in one evaluation (0 is null), shared by its slices."""

    def __init__(self) -> None:
        self.ids: dict[str | None, int] = {None: 0}
        self._known: pa.Array | None = None  # the strings so far, in id order

    def code(self, text: str | None) -> int:
        """The id of one string."""
        found = self.ids.get(text)
        if found is None:
            found = self.ids[text] = len(self.ids)
            self._known = None
        return found

    def codes(self, words: pa.Array) -> Array:
        """The ids of distinct strings (a dictionary), looked up together."""
        if self._known is None:
            self._known = pa.array(list(self.ids)[1:], pa.string())
        positions = pc.index_in(words, value_set=self._known)
        if positions.null_count:  # strings not met before
            for text in words.filter(positions.is_null()).to_pylist():
                self.code(text)
            return self.codes(words)
        ids: Array = apply(np.add, positions.to_numpy(), np.int32(1))
        return ids


class Snapshot:
    """Decoded columns of a snapshot table (or a slice of one), shared by every rule set
    evaluated on it.

    `vocabulary` gives the code ids, shared by the slices of one table. `uses` says
    how many times each node column (by `Run.key` and level) will be asked for: a column is
    kept until its last use, and one asked for once is not kept at all. Without a count, a
    column is kept for as long as the snapshot.
    """

    def __init__(
        self,
        table: pa.Table | pa.RecordBatch,
        on: date,
        vocabulary: Vocabulary | None = None,
        uses: dict[Hashable, int] | None = None,
    ) -> None:
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        self.table = table
        self.on = on
        self.households = table.num_rows
        self.vocabulary = Vocabulary() if vocabulary is None else vocabulary
        self.uses: dict[Hashable, int] = {} if uses is None else uses
        self.fields: dict[tuple[str, str], Column | CodeLists] = {}
        self._known: dict[tuple[str, str], Mask | None] = {}
        self._matched: dict[Hashable, Any] = {}
        self._lists: dict[Hashable, tuple[list[pa.Array], Array]] = {}
        self._chunk_lists: dict[Hashable, list[pa.Array]] = {}
        #: Node columns by what they compute (`Run.key`) and level, shared by the rule sets.
        self.columns: dict[Hashable, Column] = {}
        #: Missing fields of nodes, by the same keys (worked out on demand).
        self.missing: dict[Hashable, dict[str, Mask]] = {}
        # `explain` skips a member that is not an object; so does the batch.
        self._people: list[pa.StructArray] = []
        sizes: list[Array] = []
        if "members" in table.column_names:
            for chunk in table.column("members").chunks:
                people = pc.list_flatten(chunk)
                if people.null_count:
                    valid = people.is_valid()
                    parent = pc.list_parent_indices(chunk).filter(valid).to_numpy()
                    people = people.filter(valid)
                    size = np.bincount(parent, minlength=len(chunk))
                else:
                    size = pc.fill_null(pc.list_value_length(chunk), 0).to_numpy()
                self._people.append(people)
                sizes.append(size)
        else:
            sizes.append(zeros(self.households, np.int64))
        self.members = Members(joined(sizes, np.int64))

    # --- columns ----------------------------------------------------------------------

    def code(self, text: str | None) -> int:
        """The code id of a string in this snapshot (0 is null)."""
        return self.vocabulary.code(text)

    def _chunks(self, scope: str, name: str, kind: pa.DataType | None = None) -> list[pa.Array]:
        """A column (household) or member field chunk by chunk (members household by
        household), as `kind` when given; all null when the table does not have it."""
        key = (scope, name, kind)
        found = self._chunk_lists.get(key)
        if found is None:
            found = self._chunk_lists[key] = self._read_chunks(scope, name, kind)
        return found

    def _read_chunks(self, scope: str, name: str, kind: pa.DataType | None) -> list[pa.Array]:
        if scope == "household":
            found = self.table.column(name).chunks if name in self.table.column_names else []
        elif all(people.type.get_field_index(name) >= 0 for people in self._people):
            found = [pc.struct_field(people, name) for people in self._people]
        else:
            found = []
        if not found:
            size = self.households if scope == "household" else self.members.total
            found = [pa.nulls(size)]
        return found if kind is None else [chunk.cast(kind, safe=False) for chunk in found]

    def at_level(self, scope: str, values: Array) -> Array:
        """Values given row by row (members household by household) in the level's order."""
        return self.members.arrange(values) if scope == "member" else values

    def known(self, scope: str, name: str) -> Mask | None:
        """Where a column (household) or member field is not null (None: everywhere)."""
        key = (scope, name)
        if key not in self._known:
            chunks = self._chunks(scope, name)
            parts = [_valid(chunk) for chunk in chunks]
            known = None
            if any(part is not None for part in parts):
                whole = [_or_ones(part, len(c)) for part, c in zip(parts, chunks, strict=True)]
                known = self.at_level(scope, joined(whole, bool))
            self._known[key] = known
        return self._known[key]

    def read(self, spec: FieldSpec) -> Column | CodeLists:
        """A field's column at its level (decoded once per snapshot)."""
        key = (spec.scope, spec.name)
        if key not in self.fields:
            self.fields[key] = self._decode(spec)
        return self.fields[key]

    def _decode(self, spec: FieldSpec) -> Column | CodeLists:
        if spec.name == "member_count":
            return Column(self.members.sizes)
        if spec.name == "age":
            return self._age()
        name = spec.name.replace(".", "_")
        known = self.known(spec.scope, name) if spec.null_is_missing else None
        if spec.type == ValueType.codes:
            strings, rows = self._items(spec.scope, name)
            ids = joined([self._code_ids(part) for part in strings], np.int32)
            return CodeLists(ids, rows, known)
        if spec.type == ValueType.number:
            # As stored (integers are made float64 while joined), not cast by Arrow first.
            values = joined(
                [_numbers(chunk) for chunk in self._chunks(spec.scope, name)], np.float64
            )
        else:
            chunks = self._chunks(spec.scope, name, _ARROW_TYPES[spec.type])
            if spec.type == ValueType.boolean:
                values = joined([_flags(chunk, not spec.null_is_missing) for chunk in chunks], bool)
            else:
                values = joined([self._code_ids(chunk) for chunk in chunks], np.int32)
        return Column(self.at_level(spec.scope, values), known)

    def _code_ids(self, strings: pa.Array) -> Array:
        """Code ids of a string array (null as 0), looking each distinct string up once."""
        encoded = strings.dictionary_encode()
        lookup = np.concatenate([[0], self.vocabulary.codes(encoded.dictionary)]).astype(np.int32)
        positions: Array = pc.fill_null(pc.add(encoded.indices, 1), 0).to_numpy()
        return take(lookup, positions)

    def matches(self, spec: FieldSpec, items: Sequence[str | None]) -> Column:
        """Whether a code field's value is one of `items` (null: an item of None)."""
        key = (spec.scope, spec.name, tuple(items))
        found: Column | None = self._matched.get(key)
        if found is not None:
            return found
        name = spec.name.replace(".", "_")
        known = self.known(spec.scope, name) if spec.null_is_missing else None
        if len(items) > FEW_CODES or (spec.scope, spec.name) in self.fields:
            ids = self.read(spec)
            assert isinstance(ids, Column)
            wanted = [self.code(item) for item in items]
            table = np.zeros(len(self.vocabulary.ids), dtype=bool)
            table[wanted] = True
            values = take(table, ids.values)
        else:
            tests = [self._equal(spec, name, item) for item in items]
            if tests:
                either = reduce(lambda a, b: apply(np.logical_or, a, b), tests[1:], tests[0])
                values = self.at_level(spec.scope, either)
            else:
                size = self.households if spec.scope == "household" else self.members.total
                values = zeros(size, bool)
        column = self._matched[key] = Column(values, known)
        return column

    def _equal(self, spec: FieldSpec, name: str, item: str | None) -> Mask:
        """Rows (members household by household) whose string is `item`; where the field
        is null and that means unknown, anything."""
        key = (spec.scope, name, item)
        found: Mask | None = self._matched.get(key)
        if found is None:
            chunks = self._chunks(spec.scope, name, pa.string())
            exact = not spec.null_is_missing
            parts = [
                _nulls(chunk) if item is None else _flags(pc.equal(chunk, item), exact)
                for chunk in chunks
            ]
            found = self._matched[key] = joined(parts, bool)
        return found

    def contains(self, spec: FieldSpec, item: str) -> Column:
        """Whether a list-of-codes field holds the code `item`."""
        key = (spec.scope, spec.name, "contains", item)
        found: Column | None = self._matched.get(key)
        if found is None:
            name = spec.name.replace(".", "_")
            strings, rows = self._items(spec.scope, name)
            size = self.households if spec.scope == "household" else self.members.total
            holds = zeros(size, bool)
            equal = joined([_flags(pc.equal(part, item)) for part in strings], bool)
            holds[rows[equal]] = True
            values = self.at_level(spec.scope, holds)
            found = self._matched[key] = Column(values, self.known(spec.scope, name))
        return found

    def _items(self, scope: str, name: str) -> tuple[list[pa.Array], Array]:
        """The codes in a list-of-codes field, one after the other (chunk by chunk: they
        are not copied together), and the row (members household by household) each is in."""
        key = (scope, name)
        found = self._lists.get(key)
        if found is None:
            chunks = self._chunks(scope, name, _ARROW_TYPES[ValueType.codes])
            strings = [pc.list_flatten(chunk) for chunk in chunks]
            rows, base = [], 0
            for chunk in chunks:
                rows.append(apply(np.add, pc.list_parent_indices(chunk).to_numpy(), base))
                base += len(chunk)
            found = self._lists[key] = (strings, joined(rows, np.int64))
        return found

    def _age(self) -> Column:
        """Members' ages in whole years on the evaluation date, from `birth_date`."""
        chunks = self._chunks("member", "birth_date", pa.date32())
        bounds = [pc.min_max(chunk) for chunk in chunks]
        lows = [b["min"].value for b in bounds if b["min"].is_valid]
        highs = [b["max"].value for b in bounds if b["max"].is_valid]
        known = self.known("member", "birth_date")
        if not lows:
            return Column(zeros(self.members.total, np.int16), known)
        # Days since 1970-01-01; garbage where the date is null (the age is unknown there).
        days = joined([_days(chunk) for chunk in chunks], np.int32)
        low, high = min(lows), max(highs)
        if high - low < len(days):
            # Fewer distinct days than members: one age a day, then looked up.
            start, table = _age_table(low, high, self.on)
            offsets = apply(np.subtract, days, np.int32(start))
            ages = np.take(table, offsets, mode="clip", out=empty(len(days), table.dtype))
        else:
            ages = _ages(np.clip(days, low, high), self.on)
        return Column(self.members.arrange(ages), known)


def _days(chunk: pa.Array) -> Array:
    """The days of a date32 array (anything where null)."""
    if chunk.null_count == len(chunk):
        return np.zeros(len(chunk), np.int32)
    return np.frombuffer(chunk.buffers()[1], np.int32, count=len(chunk), offset=chunk.offset * 4)


@lru_cache(maxsize=16)
def _age_table(low: int, high: int, on: date) -> tuple[int, Array]:
    """The first day and the ages of everyone born from then to at least day `high`: the
    range is widened to multiples of 4096 days so that slices share a table."""
    start, stop = low & ~4095, high | 4095
    table = _ages(np.arange(start, stop + 1), on)
    narrow = table.astype(np.int16)
    table = narrow if np.array_equal(narrow, table) else table
    table.flags.writeable = False
    return start, table


def _valid(array: pa.Array) -> Mask | None:
    """Where an array is not null (None: everywhere)."""
    if array.null_count == 0:
        return None
    if array.null_count == len(array) or array.buffers()[0] is None:
        return zeros(len(array), bool)
    return bits(array.buffers()[0], array.offset, len(array))


def _or_ones(mask: Mask | None, length: int) -> Mask:
    return full(length, True, bool) if mask is None else mask


def _nulls(array: pa.Array) -> Mask:
    """Where an array is null."""
    valid = _valid(array)
    return zeros(len(array), bool) if valid is None else apply(np.logical_not, valid)


def _flags(array: pa.Array, exact: bool = True) -> Mask:
    """A boolean array's values, null as false (not `exact`: anything where null)."""
    if array.null_count == len(array):
        return zeros(len(array), bool)
    values = bits(array.buffers()[1], array.offset, len(array))
    if array.null_count and exact:  # cheaper than Arrow's `fill_null`
        values = apply(np.logical_and, values, _valid(array))
    return values


def _numbers(array: pa.Array) -> Array:
    """A number array's values, 0 where null: integers and floats as they are stored,
    anything else cast to float64."""
    kind = array.type
    stored = pa.types.is_integer(kind) or pa.types.is_floating(kind)
    if not stored or array.null_count == len(array):
        as_float = array.cast(pa.float64(), safe=False)
        found: Array = pc.fill_null(as_float, 0.0).to_numpy(zero_copy_only=False)
        return found
    values: Array = np.frombuffer(
        array.buffers()[1],
        kind.to_pandas_dtype(),
        count=len(array),
        offset=array.offset * kind.byte_width,
    )
    valid = _valid(array)
    if valid is not None:
        values = np.where(valid, values, values.dtype.type(0))
    return values


def _ages(days: Array, on: date) -> Array:
    """Whole years on `on` of people born on `days` (days since 1970-01-01)."""
    born = days.astype("datetime64[D]")
    month_start = born.astype("datetime64[M]")
    year = born.astype("datetime64[Y]").astype(np.int64) + 1970
    month = month_start.astype(np.int64) % 12 + 1
    day = (born - month_start.astype("datetime64[D]")).astype(np.int64) + 1
    before_birthday = (month > on.month) | ((month == on.month) & (day > on.day))
    return on.year - year - before_birthday  # type: ignore[no-any-return]
