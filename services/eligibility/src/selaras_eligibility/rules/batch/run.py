"""Evaluation of one rule set's nodes over a decoded snapshot, node by node."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import fields
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np

from selaras_eligibility.rules.batch.values import (
    Array,
    CodeLists,
    Column,
    Mask,
    choose,
    only,
    union,
)
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

if TYPE_CHECKING:
    from selaras_eligibility.rules.batch.snapshot import Snapshot


class Run:
    """Evaluation of one rule set's nodes; `n` is the length of the level being evaluated
    (households, or all members when inside a member operation)."""

    def __init__(self, snapshot: Snapshot, compiled: CompiledRuleSet) -> None:
        self.snapshot = snapshot
        self.compiled = compiled
        self._keys: dict[int, Hashable] = {}

    def key(self, node: Node) -> Hashable:
        """What the node computes, as a value: its structure with parameters replaced by
        their values on the date and literals tagged with their type (`1` and `true` are
        equal in Python but not as columns). Equal keys give equal columns, so a subtree
        shared by several rule sets on one snapshot is evaluated once."""
        found = self._keys.get(id(node))
        if found is not None:
            return found
        key: Hashable
        match node:
            case Const(value):
                key = ("const", type(value).__name__, value)
            case Param(name):
                value = self.compiled.parameter_at(name, self.snapshot.on)[0]
                key = ("const", type(value).__name__, value)
            case Var(spec):
                key = ("var", spec.scope, spec.name)
            case _:
                parts: list[Hashable] = [type(node).__name__]
                for part in fields(node):
                    child = getattr(node, part.name)
                    if isinstance(child, tuple):
                        parts.append(tuple(self.key(item) for item in child))
                    elif child is None or isinstance(child, str):
                        parts.append(child)
                    else:
                        parts.append(self.key(child))
                key = tuple(parts)
        self._keys[id(node)] = key
        return key

    def column(self, node: Node, n: int) -> Column:
        """The value of `node` for every row of the level (shared between rule sets: the
        columns are never changed in place)."""
        if isinstance(node, Const | Param | Var):
            return self._evaluate(node, n)
        memo = self.snapshot.columns
        key = (self.key(node), n)
        found = memo.get(key)
        if found is None:
            found = memo[key] = self._evaluate(node, n)
        return found

    def _evaluate(self, node: Node, n: int) -> Column:
        match node:
            case Const(value):
                return self._constant(value, n)
            case Param(name):
                return self._constant(self.compiled.parameter_at(name, self.snapshot.on)[0], n)
            case Var(spec):
                read = self.snapshot.read(spec)
                assert isinstance(read, Column)  # list fields only appear as `in` haystacks
                return read
            case Logic(op, args):
                return self._logic(op == "and", [self.column(arg, n) for arg in args])
            case Not(arg):
                inner = self.column(arg, n)
                return Column(~inner.values.astype(bool), inner.known, inner.missing)
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

    def _constant(self, value: Any, n: int) -> Column:
        known = np.ones(n, dtype=bool)
        if isinstance(value, bool):
            return Column(np.full(n, value, dtype=bool), known)
        if isinstance(value, int | float):
            return Column(np.full(n, float(value)), known)
        if value is None or isinstance(value, str):
            return Column(np.full(n, self.snapshot._code(value), dtype=np.int64), known)
        raise TypeError(f"not a scalar: {value!r}")  # pragma: no cover (compiler's guarantee)

    @staticmethod
    def _logic(is_and: bool, args: list[Column]) -> Column:
        decisive = not is_and  # `and` is decided by a false operand, `or` by a true one
        decided = np.zeros(len(args[0].known), dtype=bool)
        unknown = np.zeros_like(decided)
        for arg in args:
            decided |= arg.known & (arg.values.astype(bool) == decisive)
            unknown |= ~arg.known
        known = decided | ~unknown
        values = decided if decisive else ~decided
        missing = only(union(arg.missing for arg in args), ~known)
        return Column(values, known, missing)

    @staticmethod
    def _compare(op: str, args: list[Column]) -> Column:
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
        return Column(np.asarray(values), known, union(arg.missing for arg in args))

    @staticmethod
    def _arith(op: str, args: list[Column]) -> Column:
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
        return Column(values, known, union(arg.missing for arg in args))

    def _if(self, args: tuple[Node, ...], n: int) -> Column:
        values: Array | None = None
        known = np.zeros(n, dtype=bool)
        decided = np.zeros(n, dtype=bool)
        choices: list[tuple[Mask, dict[str, Mask]]] = []
        branches: list[tuple[Mask, Column]] = []
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
        return Column(values, known, choose(choices, n))

    def _in(self, needle_node: Node, haystack: Node, n: int) -> Column:
        needle = self.column(needle_node, n)
        if isinstance(haystack, Var):
            lists = self.snapshot.read(haystack.field)
            assert isinstance(lists, CodeLists)
            hits = lists.ids == needle.values[lists.parent]
            found = np.bincount(lists.parent[hits], minlength=n) > 0
            known = needle.known & lists.known
            return Column(found, known, union([needle.missing, lists.missing]))
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
        return Column(found, needle.known, needle.missing)

    # --- member operations -----------------------------------------------------------

    def _per_household(self, member_mask: Mask) -> Mask:
        """Households with at least one member where `member_mask` holds."""
        snapshot = self.snapshot
        return np.bincount(snapshot.parent[member_mask], minlength=snapshot.households) > 0

    def _quantifier(self, op: str, predicate: Column) -> Column:
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
        return Column(values, known, missing)

    def _count(self, predicate_node: Node | None) -> Column:
        snapshot = self.snapshot
        if predicate_node is None:
            return Column(
                snapshot.member_count.astype(np.float64), np.ones(snapshot.households, dtype=bool)
            )
        predicate = self.column(predicate_node, len(snapshot.parent))
        holds = predicate.known & predicate.values.astype(bool)
        counts = np.bincount(snapshot.parent[holds], minlength=snapshot.households)
        known = ~self._per_household(~predicate.known)
        missing = {name: self._per_household(mask) for name, mask in predicate.missing.items()}
        return Column(counts.astype(np.float64), known, missing)

    def _sum(self, value_node: Node, predicate_node: Node | None) -> Column:
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
        return Column(totals, known, missing)
