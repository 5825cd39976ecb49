"""Which missing fields explain a node's unknown answers, row by row, with the rules of
`explain`: a decided `and`/`or`/quantifier drops the missing fields of its operands, an `if`
takes those of the branch it follows, `sum_members` those of its first undecidable member.

A separate pass over the node columns of `run.Run`, made only when a criterion's missing
fields are read. A field whose mask would be false everywhere is left out.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from selaras_eligibility.rules import nodes
from selaras_eligibility.rules.batch.run import Level, Run
from selaras_eligibility.rules.batch.values import Mask, Missing
from selaras_eligibility.rules.nodes import Node


class Why:
    """The missing fields of one rule set's nodes (memoised on the snapshot)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.snapshot = run.snapshot
        self.members = run.snapshot.members

    def missing(self, node: Node, level: Level) -> Missing:
        """The missing fields behind `node`'s unknown rows (false elsewhere)."""
        if isinstance(node, nodes.Const | nodes.Param):
            return {}
        memo = self.snapshot.missing
        key = (self.run.key(node), level)
        found = memo.get(key)
        if found is None:
            found = memo[key] = self._missing(node, level)
        return found

    def _missing(self, node: Node, level: Level) -> Missing:
        match node:
            case nodes.Var(spec):
                if spec.name == "member_count":
                    return {}
                label = spec.name if spec.scope == "household" else f"members.{spec.name}"
                if spec.name == "age":
                    label, known = "members.birth_date", self.snapshot.known("member", "birth_date")
                elif spec.null_is_missing:
                    known = self.snapshot.known(spec.scope, spec.name.replace(".", "_"))
                else:
                    known = None
                return {} if known is None else _present({label: ~known})
            case nodes.Logic(_, args):
                column = self.run.column(node, level)
                unknown = column.unknown()
                if unknown is None:
                    return {}
                return {name: mask & unknown for name, mask in self._all(args, level).items()}
            case nodes.Not(arg):
                return self.missing(arg, level)
            case nodes.Compare(_, args) | nodes.Arith(_, args):
                return self._all(args, level)
            case nodes.If(args):
                return self._if(args, level)
            case nodes.In(needle, haystack):
                return self._all((needle, haystack), level)
            case nodes.Quantifier(_, predicate):
                unknown = self.run.column(node, level).unknown()
                if unknown is None:
                    return {}
                inner = self.missing(predicate, "member")
                return _present({n: self.members.any(m) & unknown for n, m in inner.items()})
            case nodes.CountMembers(predicate):
                if predicate is None:
                    return {}
                inner = self.missing(predicate, "member")
                return _present({name: self.members.any(mask) for name, mask in inner.items()})
            case nodes.SumMembers(value, predicate):
                return self._sum(value, predicate)
        raise TypeError(f"not a rule node: {type(node).__name__}")  # pragma: no cover

    def _all(self, args: Iterable[Node], level: Level) -> Missing:
        merged: Missing = {}
        for arg in args:
            for name, mask in self.missing(arg, level).items():
                merged[name] = merged[name] | mask if name in merged else mask
        return merged

    def _if(self, args: tuple[Node, ...], level: Level) -> Missing:
        merged: Missing = {}
        for branch in self.run.branches(args, level):
            parts = [(branch.take, self.missing(branch.value, level))]
            if branch.stop is not None and branch.condition is not None:
                parts.append((branch.stop, self.missing(branch.condition, level)))
            for where, missing in parts:
                for name, mask in missing.items():
                    picked = mask & where
                    merged[name] = merged[name] | picked if name in merged else picked
        return _present(merged)

    def _sum(self, value_node: Node, predicate_node: Node | None) -> Missing:
        run = self.run
        value = run.column(value_node, "member")
        predicate = None if predicate_node is None else run.column(predicate_node, "member")
        stops = run.stops(value, predicate)
        if stops is None or not stops.any():
            return {}
        from_value = self.missing(value_node, "member")
        from_predicate = {} if predicate_node is None else self.missing(predicate_node, "member")
        households, stopper = self.members.first(stops)
        # At its first undecidable member, the sum lacks what the predicate lacks when the
        # predicate is unknown there, else what the value lacks.
        predicate_unknown = None if predicate is None else predicate.unknown()
        at_predicate = (
            np.zeros(len(stopper), dtype=bool)
            if predicate_unknown is None
            else predicate_unknown[stopper]
        )
        missing: Missing = {}
        for name in set(from_predicate) | set(from_value):
            lacking = np.where(
                at_predicate,
                _at(from_predicate.get(name), stopper),
                _at(from_value.get(name), stopper),
            )
            mask = np.zeros(self.members.households, dtype=bool)
            mask[households] = lacking
            missing[name] = mask
        return _present(missing)


def _at(mask: Mask | None, rows: Mask) -> Mask:
    return np.zeros(len(rows), dtype=bool) if mask is None else mask[rows]


def _present(missing: Missing) -> Missing:
    """The fields that are missing somewhere."""
    return {name: mask for name, mask in missing.items() if mask.any()}
