"""Several rule sets over one snapshot table, slice by slice of households.

What the rule sets have in common is planned first: the distinct criteria (by `Run.key`),
and how many times each node column will be asked for, so that a column shared by several
criteria is kept until its last use and no longer. Then the table is evaluated in slices of
`SLICE` households: the arrays of a slice fit in the processor's caches, and the memory
of one slice's columns is used again for the next. Each distinct criterion's status is
written into one array over the whole table; the rule sets' overall statuses are made
from those.

A criterion's missing fields are worked out when they are first read (`values.OnDemand`),
decoding the slices again: screening only needs the statuses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

from selaras_eligibility.rules.batch.arrays import ARENA, Arena, apply
from selaras_eligibility.rules.batch.missing import Why
from selaras_eligibility.rules.batch.run import Level, Run
from selaras_eligibility.rules.batch.snapshot import Snapshot, Vocabulary
from selaras_eligibility.rules.batch.values import (
    UNKNOWN,
    BatchResult,
    CriterionColumn,
    Missing,
    OnDemand,
)
from selaras_eligibility.rules.nodes import CompiledRuleSet, Node

#: Households evaluated together: their member columns stay within a few MiB.
SLICE = 1 << 17


@dataclass(frozen=True)
class _Criterion:
    """A distinct criterion: the rule set that asks it first, and its rule."""

    rule_set: int
    rule: Node


class Evaluation:
    """Rule sets over one table as of one date."""

    def __init__(
        self, rule_sets: Sequence[CompiledRuleSet], table: pa.Table | pa.RecordBatch, on: date
    ) -> None:
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        self.rule_sets = rule_sets
        self.table = table
        self.on = on
        self.households = table.num_rows
        self.vocabulary = Vocabulary()
        self.keys: list[dict[int, Hashable]] = [{} for _ in rule_sets]
        probe = Snapshot(table.slice(0, 0), on, self.vocabulary)
        runs = [Run(probe, rs, keys) for rs, keys in zip(rule_sets, self.keys, strict=True)]
        #: Distinct criteria by key, and each rule set's criteria keys in order.
        self.criteria: dict[Hashable, _Criterion] = {}
        self.asked: list[list[Hashable]] = []
        for index, (rule_set, run) in enumerate(zip(rule_sets, runs, strict=True)):
            keys = [run.key(criterion.rule) for criterion in rule_set.criteria]
            for key, criterion in zip(keys, rule_set.criteria, strict=True):
                self.criteria.setdefault(key, _Criterion(index, criterion.rule))
            self.asked.append(keys)
        self.uses = Counter[Hashable]()
        seen: set[Hashable] = set()
        for distinct in self.criteria.values():
            self._plan(runs[distinct.rule_set], distinct.rule, "household", seen)
        self._explained: list[Snapshot] | None = None

    def _plan(self, run: Run, node: Node, level: Level, seen: set[Hashable]) -> None:
        """Count the uses of `node`'s column and, the first time, of its children's."""
        key = (run.key(node), level)
        self.uses[key] += 1
        if key in seen:
            return
        seen.add(key)
        for child, at in run.children(node, level):
            self._plan(run, child, at, seen)

    def _slices(self) -> list[tuple[int, int]]:
        """Slices of at most `SLICE` households, of equal sizes (give or take one)."""
        count = -(-self.households // SLICE)
        if count == 0:
            return []
        bounds = [self.households * i // count for i in range(count + 1)]
        return list(pairwise(bounds))

    def results(self) -> list[BatchResult]:
        """Every rule set's criteria and overall status, in the order given."""
        statuses = {key: np.empty(self.households, np.int8) for key in self.criteria}
        overall = [np.empty(self.households, np.int8) for _ in self.rule_sets]
        arena = Arena()
        token = ARENA.set(arena)
        try:
            for start, stop in self._slices():
                self._slice(start, stop, statuses, overall)
        finally:
            ARENA.reset(token)
        missing = {key: OnDemand(self._missing_of(key, statuses[key])) for key in self.criteria}
        return [
            BatchResult(
                program=rule_set.program,
                evaluated_on=self.on,
                rule_set_hash=rule_set.content_hash,
                status=status,
                criteria=tuple(
                    CriterionColumn(criterion.id, statuses[key], missing[key])
                    for criterion, key in zip(rule_set.criteria, keys, strict=True)
                ),
            )
            for rule_set, keys, status in zip(self.rule_sets, self.asked, overall, strict=True)
        ]

    def _slice(
        self,
        start: int,
        stop: int,
        statuses: dict[Hashable, npt.NDArray[np.int8]],
        overall: list[npt.NDArray[np.int8]],
    ) -> None:
        """Evaluate the households from `start` to `stop` into the statuses."""
        snapshot = Snapshot(
            self.table.slice(start, stop - start), self.on, self.vocabulary, dict(self.uses)
        )
        runs = [Run(snapshot, rs, keys) for rs, keys in zip(self.rule_sets, self.keys, strict=True)]
        ranks: dict[Hashable, npt.NDArray[np.uint8]] = {}
        for key, criterion in self.criteria.items():
            column = runs[criterion.rule_set].column(criterion.rule, "household")
            out = statuses[key][start:stop]
            if column.known is None:
                np.copyto(out, column.truth(), casting="unsafe")
            else:  # holds + known - 1: true 1 + 1 - 1, false 0 + 1 - 1, unknown 0 + 0 - 1
                np.logical_and(column.truth(), column.known, out=out.view(np.bool_))
                np.add(out, column.known.view(np.int8), out=out)
                np.subtract(out, np.int8(1), out=out)
            ranks[key] = _rank(out)
        for keys, status in zip(self.asked, overall, strict=True):
            _combine([ranks[key] for key in keys], status[start:stop])

    def _missing_of(self, key: Hashable, status: npt.NDArray[np.int8]) -> Callable[[], Missing]:
        criterion = self.criteria[key]

        def compute() -> Missing:
            found: Missing = {}
            for snapshot, (start, stop) in zip(self._explaining(), self._slices(), strict=True):
                run = Run(
                    snapshot, self.rule_sets[criterion.rule_set], self.keys[criterion.rule_set]
                )
                for name, mask in Why(run).missing(criterion.rule, "household").items():
                    if name not in found:
                        found[name] = np.zeros(self.households, dtype=bool)
                    found[name][start:stop] = mask
            unknown = status == UNKNOWN
            return {name: mask & unknown for name, mask in found.items()}

        return compute

    def _explaining(self) -> list[Snapshot]:
        """The slices decoded again, kept while missing fields are being read."""
        if self._explained is None:
            self._explained = [
                Snapshot(self.table.slice(start, stop - start), self.on, self.vocabulary)
                for start, stop in self._slices()
            ]
        return self._explained


def _rank(status: npt.NDArray[np.int8]) -> npt.NDArray[np.uint8]:
    """Statuses as bytes less one: true 0, unknown 254, false 255, so that the greatest of
    a rule set's criteria is its status less one (false wins over unknown)."""
    ranks: npt.NDArray[np.uint8] = apply(np.subtract, status.view(np.uint8), np.uint8(1))
    return ranks


def _combine(ranks: list[npt.NDArray[np.uint8]], out: npt.NDArray[np.int8]) -> None:
    """A rule set's status from its criteria's ranks: false if one is false, else unknown
    if one is unknown, else true."""
    greatest = out.view(np.uint8)
    if not ranks:  # nothing to fail
        greatest.fill(0)
    elif len(ranks) == 1:
        np.copyto(greatest, ranks[0])
    else:
        np.maximum(ranks[0], ranks[1], out=greatest)
        for rank in ranks[2:]:
            np.maximum(greatest, rank, out=greatest)
    np.add(greatest, np.uint8(1), out=greatest)
