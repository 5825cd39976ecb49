"""Evaluate a compiled rule set on the registry's Arrow snapshot, column by column.

The input is the snapshot table (one row per household, members in a nested list). Every node
of a rule tree is evaluated once for all households (or, inside member operations, once for
all members of all households, flattened) as numpy arrays: a value array and a `known` mask,
so the three-valued logic of `explain` carries over without a Python loop per household.
Member results are folded back per household with `bincount` over the members' parent index.

Codes are compared as integers: every distinct string met gets an id from one vocabulary per
evaluation (0 is null, which is a value in its own right for `disability.*` and
`chronic_illness`). Numbers are float64, exact for integers up to 2**53 (number literals are
at most 10**15).

Alongside each criterion's status, `missing` says for each field which households' unknown
answer it explains, with the same rules as `explain` (a decided `and`/`or`/quantifier drops
the missing fields of its operands; `sum_members` stops at its first unknown member). Member
fields are named `members.<field>` (`members.birth_date` for age), without a member index.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

from selaras_eligibility.rules.explain import check_in_force
from selaras_eligibility.rules.fields import FieldSpec, ValueType
from selaras_eligibility.rules.nodes import (
    Arith,
    Compare,
    CompiledRuleSet,
    Const,
    CountMembers,
    If,
    In,
    Logic,
    Node,
    Not,
    Param,
    Quantifier,
    SumMembers,
    Var,
)

Array = npt.NDArray[Any]
Mask = npt.NDArray[np.bool_]

#: Status codes of `CriterionColumn.status` and `BatchResult.status`.
TRUE, FALSE, UNKNOWN = 1, 0, -1


@dataclass(frozen=True)
class CriterionColumn:
    """One criterion over all households: status (1 true, 0 false, -1 unknown) and, per
    field, the households whose unknown answer that field's missing value explains."""

    id: str
    status: npt.NDArray[np.int8]
    missing: dict[str, Mask]


@dataclass(frozen=True)
class BatchResult:
    """A rule set over all households of a snapshot table, in the table's row order."""

    program: str
    evaluated_on: date
    rule_set_hash: str
    #: 1 eligible, 0 not eligible, -1 unknown (as `explain`: false wins over unknown).
    status: npt.NDArray[np.int8]
    criteria: tuple[CriterionColumn, ...]


@dataclass
class _Column:
    """A node's value at one level: values, where they are known, and why they are not."""

    values: Array
    known: Mask
    missing: dict[str, Mask] = field(default_factory=dict)


@dataclass(frozen=True)
class _CodeLists:
    """A list-of-codes field at one level: flat code ids with the row each belongs to."""

    ids: Array
    parent: Array
    known: Mask
    missing: dict[str, Mask]


def evaluate_batch(
    compiled: CompiledRuleSet, table: pa.Table | pa.RecordBatch, on: date
) -> BatchResult:
    """Evaluate every criterion on every household of a snapshot table as of `on`."""
    check_in_force(compiled, on)
    snapshot = _Snapshot(table, on)
    return snapshot.evaluate(compiled)


def evaluate_rule_sets(
    rule_sets: Sequence[CompiledRuleSet], table: pa.Table | pa.RecordBatch, on: date
) -> list[BatchResult]:
    """Evaluate several rule sets on one table, decoding each column only once."""
    for rule_set in rule_sets:
        check_in_force(rule_set, on)
    snapshot = _Snapshot(table, on)
    return [snapshot.evaluate(rule_set) for rule_set in rule_sets]


def _union(parts: Iterable[dict[str, Mask]]) -> dict[str, Mask]:
    merged: dict[str, Mask] = {}
    for part in parts:
        for name, mask in part.items():
            merged[name] = merged[name] | mask if name in merged else mask
    return merged


def _only(missing: dict[str, Mask], where: Mask) -> dict[str, Mask]:
    return {name: mask & where for name, mask in missing.items()}


def _choose(choices: list[tuple[Mask, dict[str, Mask]]], n: int) -> dict[str, Mask]:
    """Per row, the missing fields of the first choice whose mask holds there."""
    merged: dict[str, Mask] = {}
    taken = np.zeros(n, dtype=bool)
    for where, missing in choices:
        here = where & ~taken
        for name, mask in missing.items():
            picked = mask & here
            merged[name] = merged[name] | picked if name in merged else picked
        taken |= here
    return merged


class _Snapshot:
    """Decoded columns of one snapshot table, shared by every rule set evaluated on it."""

    def __init__(self, table: pa.Table | pa.RecordBatch, on: date) -> None:
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        self.table = table
        self.on = on
        self.households = table.num_rows
        self.codes: dict[str | None, int] = {None: 0}
        self.fields: dict[tuple[str, str], _Column | _CodeLists] = {}
        members = self._array("members")
        if members is None:
            self.member_rows = pa.array([], pa.struct([]))
            self.parent: Array = np.zeros(0, dtype=np.int64)
        else:
            people = pc.list_flatten(members)
            parent = pc.list_parent_indices(members)
            if people.null_count:
                # `explain` skips a member that is not an object; so does the batch.
                valid = people.is_valid()
                people, parent = people.filter(valid), parent.filter(valid)
            self.member_rows = people
            self.parent = parent.to_numpy().astype(np.int64)
        self.member_count = np.bincount(self.parent, minlength=self.households)

    # --- columns ----------------------------------------------------------------------

    def _array(self, name: str) -> pa.Array | None:
        if name not in self.table.column_names:
            return None
        return self.table.column(name).combine_chunks()

    def _member_array(self, name: str) -> pa.Array | None:
        if self.member_rows.type.get_field_index(name) < 0:
            return None
        return pc.struct_field(self.member_rows, name)

    def _code_ids(self, strings: pa.Array) -> Array:
        """Code ids of a string array (null as 0), looking each distinct string up once."""
        encoded = strings.dictionary_encode()
        lookup = np.array(
            [0, *(self._code(text) for text in encoded.dictionary.to_pylist())], dtype=np.int64
        )
        positions: Array = pc.fill_null(pc.add(encoded.indices, 1), 0).to_numpy()
        return lookup[positions]

    def _code(self, text: str | None) -> int:
        return self.codes.setdefault(text, len(self.codes))

    def read(self, spec: FieldSpec) -> _Column | _CodeLists:
        """A field's column at its level (decoded once per snapshot)."""
        key = (spec.scope, spec.name)
        if key not in self.fields:
            self.fields[key] = self._decode(spec)
        return self.fields[key]

    def _decode(self, spec: FieldSpec) -> _Column | _CodeLists:
        size = self.households if spec.scope == "household" else len(self.parent)
        if spec.name == "member_count":
            return _Column(self.member_count.astype(np.float64), np.ones(size, dtype=bool))
        if spec.scope == "household":
            label, raw = spec.name, self._array(spec.name.replace(".", "_"))
        elif spec.name == "age":
            return self._age()
        else:
            label = f"members.{spec.name}"
            raw = self._member_array(spec.name.replace(".", "_"))
        if raw is None:
            raw = pa.nulls(size)
        known: Mask = np.asarray(raw.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        missing = {label: ~known} if spec.null_is_missing else {}
        if not spec.null_is_missing:
            known = np.ones(size, dtype=bool)
        if spec.type == ValueType.codes:
            if pa.types.is_null(raw.type):
                raw = raw.cast(pa.list_(pa.string()))
            flat = pc.list_flatten(raw)
            return _CodeLists(
                self._code_ids(flat.cast(pa.string())),
                pc.list_parent_indices(raw).to_numpy().astype(np.int64),
                known,
                missing,
            )
        if spec.type == ValueType.number:
            values = pc.fill_null(raw.cast(pa.float64(), safe=False), 0.0).to_numpy()
        elif spec.type == ValueType.boolean:
            values = pc.fill_null(raw.cast(pa.bool_()), False).to_numpy(zero_copy_only=False)
        else:
            values = self._code_ids(raw.cast(pa.string()))
        return _Column(np.asarray(values), known, missing)

    def _age(self) -> _Column:
        raw = self._member_array("birth_date")
        size = len(self.parent)
        if raw is None:
            raw = pa.nulls(size, pa.date32())
        known: Mask = np.asarray(raw.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        born = raw.cast(pa.date32())
        year, month, day = (
            pc.fill_null(part(born), 0).to_numpy().astype(np.int64)
            for part in (pc.year, pc.month, pc.day)
        )
        on = self.on
        before_birthday = (month > on.month) | ((month == on.month) & (day > on.day))
        age = (on.year - year - before_birthday).astype(np.float64)
        return _Column(age, known, {"members.birth_date": ~known})

    # --- rule sets --------------------------------------------------------------------

    def evaluate(self, compiled: CompiledRuleSet) -> BatchResult:
        """Every criterion of one rule set, and the rule set's overall status."""
        run = _Run(self, compiled)
        columns: list[CriterionColumn] = []
        any_false = np.zeros(self.households, dtype=bool)
        any_unknown = np.zeros(self.households, dtype=bool)
        for criterion in compiled.criteria:
            result = run.column(criterion.rule, self.households)
            status = np.where(result.known, np.where(result.values, TRUE, FALSE), UNKNOWN).astype(
                np.int8
            )
            any_false |= result.known & ~result.values.astype(bool)
            any_unknown |= ~result.known
            missing = {
                name: mask & ~result.known for name, mask in result.missing.items() if mask.any()
            }
            columns.append(CriterionColumn(criterion.id, status, missing))
        overall = np.where(any_false, FALSE, np.where(any_unknown, UNKNOWN, TRUE)).astype(np.int8)
        return BatchResult(
            program=compiled.program,
            evaluated_on=self.on,
            rule_set_hash=compiled.content_hash,
            status=overall,
            criteria=tuple(columns),
        )


class _Run:
    """Evaluation of one rule set's nodes; `n` is the length of the level being evaluated
    (households, or all members when inside a member operation)."""

    def __init__(self, snapshot: _Snapshot, compiled: CompiledRuleSet) -> None:
        self.snapshot = snapshot
        self.compiled = compiled

    def column(self, node: Node, n: int) -> _Column:
        """The value of `node` for every row of the level."""
        match node:
            case Const(value):
                return self._constant(value, n)
            case Param(name):
                return self._constant(self.compiled.parameter_at(name, self.snapshot.on)[0], n)
            case Var(spec):
                read = self.snapshot.read(spec)
                assert isinstance(read, _Column)  # list fields only appear as `in` haystacks
                return read
            case Logic(op, args):
                return self._logic(op == "and", [self.column(arg, n) for arg in args])
            case Not(arg):
                inner = self.column(arg, n)
                return _Column(~inner.values.astype(bool), inner.known, inner.missing)
            case Compare(op, args):
                return self._compare(op, [self.column(arg, n) for arg in args])
            case Arith(op, args):
                return self._arith(op, [self.column(arg, n) for arg in args])
            case If(args):
                return self._if(args, n)
            case In(needle, haystack):
                return self._in(needle, haystack, n)
            case Quantifier(op, predicate):
                return self._quantifier(op, self.column(predicate, len(self.snapshot.parent)))
            case CountMembers(predicate):
                return self._count(predicate)
            case SumMembers(value, predicate):
                return self._sum(value, predicate)
        raise TypeError(f"not a rule node: {type(node).__name__}")  # pragma: no cover

    def _constant(self, value: Any, n: int) -> _Column:
        known = np.ones(n, dtype=bool)
        if isinstance(value, bool):
            return _Column(np.full(n, value, dtype=bool), known)
        if isinstance(value, int | float):
            return _Column(np.full(n, float(value)), known)
        if value is None or isinstance(value, str):
            return _Column(np.full(n, self.snapshot._code(value), dtype=np.int64), known)
        raise TypeError(f"not a scalar: {value!r}")  # pragma: no cover (compiler's guarantee)

    @staticmethod
    def _logic(is_and: bool, args: list[_Column]) -> _Column:
        decisive = not is_and  # `and` is decided by a false operand, `or` by a true one
        decided = np.zeros(len(args[0].known), dtype=bool)
        unknown = np.zeros_like(decided)
        for arg in args:
            decided |= arg.known & (arg.values.astype(bool) == decisive)
            unknown |= ~arg.known
        known = decided | ~unknown
        values = decided if decisive else ~decided
        missing = _only(_union(arg.missing for arg in args), ~known)
        return _Column(values, known, missing)

    @staticmethod
    def _compare(op: str, args: list[_Column]) -> _Column:
        known = np.logical_and.reduce([arg.known for arg in args])
        left, right = args[0].values, args[1].values
        if op == "==":
            values = left == right
        elif op == "!=":
            values = left != right
        elif op == ">":
            values = left > right
        elif op == ">=":
            values = left >= right
        else:
            less = np.less if op == "<" else np.less_equal
            values = np.logical_and.reduce([less(a.values, b.values) for a, b in pairwise(args)])
        return _Column(np.asarray(values), known, _union(arg.missing for arg in args))

    @staticmethod
    def _arith(op: str, args: list[_Column]) -> _Column:
        known = np.logical_and.reduce([arg.known for arg in args])
        operands = [arg.values.astype(np.float64, copy=False) for arg in args]
        with np.errstate(all="ignore"):  # unknown rows may hold anything; overflow is inf
            if op == "+":
                values = np.zeros_like(operands[0])
                for operand in operands:
                    values = values + operand
            elif op == "-":
                values = -operands[0] if len(operands) == 1 else operands[0] - operands[1]
            elif op == "*":
                values = np.ones_like(operands[0])
                for operand in operands:
                    values = values * operand
            elif op == "/":
                zero = operands[1] == 0
                # Division by zero is unknown (explain's rule), without a missing field.
                known = known & ~zero
                values = np.divide(
                    operands[0], operands[1], out=np.zeros_like(operands[0]), where=~zero
                )
            else:
                reduce = np.minimum if op == "min" else np.maximum
                values = reduce.reduce(operands)
        return _Column(values, known, _union(arg.missing for arg in args))

    def _if(self, args: tuple[Node, ...], n: int) -> _Column:
        values: Array | None = None
        known = np.zeros(n, dtype=bool)
        decided = np.zeros(n, dtype=bool)
        choices: list[tuple[Mask, dict[str, Mask]]] = []
        branches: list[tuple[Mask, _Column]] = []
        for i in range(0, len(args) - 1, 2):
            condition = self.column(args[i], n)
            stop = ~decided & ~condition.known
            take = ~decided & condition.known & condition.values.astype(bool)
            choices.append((stop, condition.missing))
            branch = self.column(args[i + 1], n)
            branches.append((take, branch))
            choices.append((take, branch.missing))
            decided |= stop | take
        otherwise = self.column(args[-1], n)
        branches.append((~decided, otherwise))
        choices.append((~decided, otherwise.missing))
        for where, branch in branches:
            values = branch.values if values is None else np.where(where, branch.values, values)
            known = np.where(where, branch.known, known)
        assert values is not None
        return _Column(values, known, _choose(choices, n))

    def _in(self, needle_node: Node, haystack: Node, n: int) -> _Column:
        needle = self.column(needle_node, n)
        if isinstance(haystack, Var):
            lists = self.snapshot.read(haystack.field)
            assert isinstance(lists, _CodeLists)
            hits = lists.ids == needle.values[lists.parent]
            found = np.bincount(lists.parent[hits], minlength=n) > 0
            known = needle.known & lists.known
            return _Column(found, known, _union([needle.missing, lists.missing]))
        items: Any
        if isinstance(haystack, Param):
            items = self.compiled.parameter_at(haystack.name, self.snapshot.on)[0]
        else:
            assert isinstance(haystack, Const)
            items = haystack.value
        assert isinstance(items, tuple)
        wanted = np.array(
            [
                self.snapshot._code(item) if item is None or isinstance(item, str) else item
                for item in items
                if not isinstance(item, bool)
            ],
            dtype=needle.values.dtype,
        )
        if any(isinstance(item, bool) for item in items):  # pragma: no cover (compiler)
            raise TypeError("boolean list items")
        found = np.isin(needle.values, wanted)
        return _Column(found, needle.known, needle.missing)

    # --- member operations -----------------------------------------------------------

    def _per_household(self, member_mask: Mask) -> Mask:
        """Households with at least one member where `member_mask` holds."""
        snapshot = self.snapshot
        return np.bincount(snapshot.parent[member_mask], minlength=snapshot.households) > 0

    def _quantifier(self, op: str, predicate: _Column) -> _Column:
        holds = predicate.known & predicate.values.astype(bool)
        fails = predicate.known & ~predicate.values.astype(bool)
        some_true = self._per_household(holds)
        some_unknown = self._per_household(~predicate.known)
        if op == "all":
            some_false = self._per_household(fails)
            empty = self.snapshot.member_count == 0
            known = empty | some_false | ~some_unknown
            values = ~empty & ~some_false & ~some_unknown
        else:
            known = some_true | ~some_unknown
            values = some_true if op == "some" else ~some_true
        missing = {
            name: self._per_household(mask) & ~known for name, mask in predicate.missing.items()
        }
        return _Column(values, known, missing)

    def _count(self, predicate_node: Node | None) -> _Column:
        snapshot = self.snapshot
        if predicate_node is None:
            return _Column(
                snapshot.member_count.astype(np.float64), np.ones(snapshot.households, dtype=bool)
            )
        predicate = self.column(predicate_node, len(snapshot.parent))
        holds = predicate.known & predicate.values.astype(bool)
        counts = np.bincount(snapshot.parent[holds], minlength=snapshot.households)
        known = ~self._per_household(~predicate.known)
        missing = {name: self._per_household(mask) for name, mask in predicate.missing.items()}
        return _Column(counts.astype(np.float64), known, missing)

    def _sum(self, value_node: Node, predicate_node: Node | None) -> _Column:
        snapshot = self.snapshot
        size = len(snapshot.parent)
        value = self.column(value_node, size)
        if predicate_node is None:
            chosen, chosen_known = np.ones(size, dtype=bool), np.ones(size, dtype=bool)
            chosen_missing: dict[str, Mask] = {}
        else:
            predicate = self.column(predicate_node, size)
            chosen_known = predicate.known
            chosen = predicate.known & predicate.values.astype(bool)
            chosen_missing = predicate.missing
        # `explain` adds members in order and stops at the first one it cannot decide.
        stops = ~chosen_known | (chosen & ~value.known)
        weights = np.where(chosen & value.known, value.values, 0.0)
        # bincount adds in member order, as `explain` does, so float sums agree exactly.
        totals = np.bincount(snapshot.parent, weights=weights, minlength=snapshot.households)
        totals = totals.astype(np.float64)  # bincount of no members at all gives integers
        known = ~self._per_household(stops)
        at = np.flatnonzero(stops)
        households, first = np.unique(snapshot.parent[at], return_index=True)
        stopper = at[first]
        missing: dict[str, Mask] = {}
        for name in set(chosen_missing) | set(value.missing):
            from_predicate = chosen_missing.get(name, np.zeros(size, dtype=bool))
            from_value = value.missing.get(name, np.zeros(size, dtype=bool))
            lacking = np.where(~chosen_known, from_predicate, from_value)
            mask = np.zeros(snapshot.households, dtype=bool)
            mask[households] = lacking[stopper]
            missing[name] = mask
        return _Column(totals, known, missing)
