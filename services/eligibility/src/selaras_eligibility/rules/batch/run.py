"""Evaluation of one rule set's nodes over a decoded snapshot, node by node.

A node's column is computed once per snapshot whichever rule set asks (`Run.key`), with
constants as numpy scalars and "known everywhere" as a `known` of None, so that what cannot
be unknown costs nothing. Member operations work on the slot layout of `members.Members`.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, fields
from functools import reduce
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from selaras_eligibility.rules.batch.arrays import apply, select, zeros
from selaras_eligibility.rules.batch.operations import arithmetic, compare, logic, small_whole
from selaras_eligibility.rules.batch.values import Array, CodeLists, Column, Mask, known_in_all
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

if TYPE_CHECKING:
    from selaras_eligibility.rules.batch.snapshot import Snapshot

Level = Literal["household", "member"]


@dataclass(frozen=True, slots=True)
class Branch:
    """One branch of an `if`: the rows it gives the value of, the rows where its condition
    is unknown and the `if` stops (None: nowhere, and for the `else`), its nodes."""

    take: Mask
    stop: Mask | None
    condition: Node | None
    value: Node


class Run:
    """Evaluation of one rule set's nodes at a level: `household` (one row a household) or
    `member` (one row a member of any household, inside member operations)."""

    def __init__(
        self,
        snapshot: Snapshot,
        compiled: CompiledRuleSet,
        keys: dict[int, Hashable] | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.compiled = compiled
        #: Keys by node identity (several runs of one rule set on one date can share them).
        self._keys: dict[int, Hashable] = {} if keys is None else keys

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
                value = self.value(name)
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

    def value(self, name: str) -> Any:
        """A parameter's value on the evaluation date."""
        return self.compiled.parameter_at(name, self.snapshot.on)[0]

    def size(self, level: Level) -> int:
        """Rows of the level."""
        members = self.snapshot.members
        return members.households if level == "household" else members.total

    def column(self, node: Node, level: Level) -> Column:
        """The value of `node` for every row of the level (shared between rule sets: the
        columns are never changed in place)."""
        if isinstance(node, Const | Param | Var):
            return self._evaluate(node, level)
        snapshot = self.snapshot
        key = (self.key(node), level)
        found = snapshot.columns.get(key)
        if found is None:
            found = self._evaluate(node, level)
        left = snapshot.uses.get(key, 0) - 1
        if left == 0:  # its last planned use
            snapshot.columns.pop(key, None)
        else:
            snapshot.columns[key] = found
        if left >= 0:
            snapshot.uses[key] = left
        return found

    @staticmethod
    def children(node: Node, level: Level) -> list[tuple[Node, Level]]:
        """The nodes whose columns `column(node, level)` asks for, each time it does (the
        literals and fields it reads directly are left out: they are not kept)."""
        match node:
            case Logic(_, args) | Compare(_, args) | Arith(_, args) | If(args):
                found = [(arg, level) for arg in args]
            case Not(arg):
                found = [(arg, level)]
            case In(needle, _):
                found = [(needle, level)]
            case Quantifier(_, predicate) | CountMembers(predicate):
                found = [] if predicate is None else [(predicate, "member")]
            case SumMembers(value, predicate):
                found = [(value, "member")]
                if predicate is not None:
                    found.append((predicate, "member"))
            case _:
                found = []
        return [(child, at) for child, at in found if not isinstance(child, Const | Param | Var)]

    def _evaluate(self, node: Node, level: Level) -> Column:
        match node:
            case Const(value):
                return Column(self.scalar(value))
            case Param(name):
                return Column(self.scalar(self.value(name)))
            case Var(spec):
                read = self.snapshot.read(spec)
                assert isinstance(read, Column)  # list fields only appear as `in` haystacks
                return read
            case Logic(op, args):
                return logic(op == "and", [self.column(arg, level) for arg in args])
            case Not(arg):
                inner = self.column(arg, level)
                return Column(apply(np.logical_not, inner.truth()), inner.known)
            case Compare(op, args):
                matched = self._code_literal(op, args)
                if matched is not None:
                    return matched
                return compare(op, [self.column(arg, level) for arg in args])
            case Arith(op, args):
                return arithmetic(op, [self.column(arg, level) for arg in args], self.size(level))
            case If(args):
                return self._if(args, level)
            case In(needle, haystack):
                return self._in(needle, haystack, level)
            case Quantifier(op, predicate):
                return self._quantifier(op, self.column(predicate, "member"))
            case CountMembers(predicate):
                return self._count(predicate)
            case SumMembers(value, predicate):
                return self._sum(value, predicate)
        raise TypeError(f"not a rule node: {type(node).__name__}")  # pragma: no cover

    def scalar(self, value: Any) -> Any:
        """A literal as a numpy scalar: flag, float64 number, or code id."""
        if isinstance(value, bool):
            return np.bool_(value)
        if isinstance(value, int | float):
            return np.float64(value)
        if value is None or isinstance(value, str):
            return np.int32(self.snapshot.code(value))
        raise TypeError(f"not a scalar: {value!r}")  # pragma: no cover (compiler's guarantee)

    def literal(self, node: Node) -> Any:
        """The value of a literal or parameter node (anything else: `NotImplemented`)."""
        if isinstance(node, Const):
            return node.value
        if isinstance(node, Param):
            return self.value(node.name)
        return NotImplemented

    @staticmethod
    def code_field(node: Node) -> FieldSpec | None:
        """The field of a node that reads a code field."""
        if isinstance(node, Var) and node.field.type == ValueType.code:
            return node.field
        return None

    def _code_literal(self, op: str, args: tuple[Node, ...]) -> Column | None:
        """`field == code` / `field != code` (either way round), from the field's strings."""
        if op not in ("==", "!="):
            return None
        for field_node, other in ((args[0], args[1]), (args[1], args[0])):
            spec = self.code_field(field_node)
            literal = self.literal(other)
            if spec is not None and (literal is None or isinstance(literal, str)):
                matched = self.snapshot.matches(spec, (literal,))
                if op == "==":
                    return matched
                return Column(apply(np.logical_not, matched.values), matched.known)
        return None

    def branches(self, args: tuple[Node, ...], level: Level) -> list[Branch]:
        """The branches of an `if` in order, the last one its `else`."""
        decided = zeros(self.size(level), bool)
        found: list[Branch] = []
        for i in range(0, len(args) - 1, 2):
            condition = self.column(args[i], level)
            take = apply(np.greater, condition.holds(), decided)  # holds, not yet decided
            unknown = condition.unknown()
            stop = None if unknown is None else apply(np.greater, unknown, decided)
            found.append(Branch(take, stop, args[i], args[i + 1]))
            decided = apply(np.logical_or, decided, take)
            if stop is not None:
                np.logical_or(decided, stop, out=decided)
        found.append(Branch(apply(np.logical_not, decided), None, None, args[-1]))
        return found

    def _if(self, args: tuple[Node, ...], level: Level) -> Column:
        n = self.size(level)
        branches = self.branches(args, level)
        taken = [self.column(branch.value, level) for branch in branches]
        dtype = np.result_type(*(column.values for column in taken))
        if all(small_whole(column.values) for column in taken):
            dtype = np.dtype(np.int16)  # whole numbers (counts, flags as 1/0) stay whole
        pairs = list(zip(branches, taken, strict=True))
        values = select(n, [(branch.take, column.values) for branch, column in pairs], dtype)
        known = select(
            n,
            [
                (branch.take, np.True_ if column.known is None else column.known)
                for branch, column in pairs
            ],
            bool,
        )
        return Column(values, known)

    def _in(self, needle_node: Node, haystack: Node, level: Level) -> Column:
        snapshot = self.snapshot
        if isinstance(haystack, Var):
            literal = self.literal(needle_node)
            if isinstance(literal, str):
                return snapshot.contains(haystack.field, literal)
            needle = self.column(needle_node, level)
            lists = snapshot.read(haystack.field)
            assert isinstance(lists, CodeLists)
            found = zeros(self.size(level), bool)
            if np.ndim(needle.values) == 0:
                found[lists.parent[apply(np.equal, lists.ids, needle.values)]] = True
                found = snapshot.at_level(level, found)
            else:
                parent = lists.parent
                if level == "member":
                    parent = snapshot.members.slot_of(parent)
                found[parent[lists.ids == needle.values[parent]]] = True
            return Column(found, known_in_all([needle.known, lists.known]))
        items = self.literal(haystack)
        assert isinstance(items, tuple)
        if any(isinstance(item, bool) for item in items):  # pragma: no cover (compiler)
            raise TypeError("boolean list items")
        spec = self.code_field(needle_node)
        if spec is not None:
            return snapshot.matches(spec, items)
        needle = self.column(needle_node, level)
        if all(isinstance(item, int | float) for item in items):
            wanted = np.array(items, dtype=np.float64)
        else:
            wanted = np.array([snapshot.code(item) for item in items], dtype=np.int32)
        found = np.isin(needle.values, wanted)
        return Column(found[()] if found.ndim == 0 else found, needle.known)

    # --- member operations -----------------------------------------------------------

    def _quantifier(self, op: str, predicate: Column) -> Column:
        members = self.snapshot.members
        unknown = predicate.unknown()
        if unknown is not None and not unknown.any():
            unknown = None
        if unknown is None:  # two-valued
            if op == "all":  # all of no members is false
                blocked = apply(np.logical_or, members.any(predicate.fails()), members.empty())
                return Column(apply(np.logical_not, blocked))
            some_true = members.any(predicate.holds())
            return Column(some_true if op == "some" else apply(np.logical_not, some_true))
        # Each member 0 (false), 1 (unknown) or 2 (true): `some` and `none` look at the most
        # of a household's members, `all` at the least (and is false without members).
        levels = apply(np.add, apply(np.left_shift, predicate.holds().view(np.uint8), 1), unknown)
        if op == "all":
            level = members.least(levels, 2)
            holds = apply(np.greater, apply(np.equal, level, 2), members.empty())
        else:
            level = members.most(levels)
            holds = apply(np.equal, level, 2)
            if op == "none":
                holds = apply(np.not_equal, level, 2)
        return Column(holds, apply(np.not_equal, level, 1))

    def _some_unknown(self, predicate: Column) -> Array | None:
        """Households with a member whose predicate is unknown (None: none anywhere)."""
        unknown = predicate.unknown()
        if unknown is None or not unknown.any():
            return None
        return self.snapshot.members.any(unknown)

    def _count(self, predicate_node: Node | None) -> Column:
        members = self.snapshot.members
        if predicate_node is None:
            return Column(members.sizes)
        predicate = self.column(predicate_node, "member")
        some_unknown = self._some_unknown(predicate)
        known = None if some_unknown is None else apply(np.logical_not, some_unknown)
        return Column(members.count(predicate.holds()), known)

    def stops(self, value: Column, predicate: Column | None) -> Array | None:
        """Members at which `sum_members` cannot go on (None: nowhere): their predicate is
        unknown, or they are chosen and their value is unknown."""
        parts = []
        if predicate is not None and predicate.known is not None:
            parts.append(apply(np.logical_not, predicate.known))
        if value.known is not None:
            unknown = apply(np.logical_not, value.known)
            parts.append(
                unknown if predicate is None else apply(np.logical_and, predicate.holds(), unknown)
            )
        return reduce(lambda a, b: apply(np.logical_or, a, b), parts) if parts else None

    def _sum(self, value_node: Node, predicate_node: Node | None) -> Column:
        members = self.snapshot.members
        value = self.column(value_node, "member")
        predicate = None if predicate_node is None else self.column(predicate_node, "member")
        chosen: Any = np.True_ if predicate is None else predicate.holds()
        if value.known is not None:
            chosen = apply(np.logical_and, chosen, value.known)
        if np.ndim(value.values) and value.values.dtype.kind == "i":
            weights = apply(np.multiply, value.values, chosen)  # whole numbers: exact
        else:
            weights = select(members.total, [(chosen, value.values)], np.float64)
        totals = members.sum(weights)
        # `explain` adds members in order and stops at the first one it cannot decide.
        stops = self.stops(value, predicate)
        if stops is None or not stops.any():
            return Column(totals)
        return Column(totals, apply(np.logical_not, members.any(stops)))
