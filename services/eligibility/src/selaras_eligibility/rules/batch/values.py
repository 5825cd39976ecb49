"""Column values of the batch evaluator: a node's values with their known mask, the results,
and how the fields that explain unknown answers combine."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from selaras_eligibility.rules.batch.arrays import Array, Mask, apply, cast

__all__ = ["Array", "Mask"]

Missing = dict[str, Mask]

#: Status codes of `CriterionColumn.status` and `BatchResult.status`.
TRUE, FALSE, UNKNOWN = 1, 0, -1


class OnDemand(Mapping[str, Mask]):
    """A criterion's missing fields, worked out the first time they are read: screening only
    needs the statuses, and the fields behind unknown answers cost as much again."""

    def __init__(self, compute: Callable[[], Missing]) -> None:
        self._compute: Callable[[], Missing] | None = compute
        self._fields: Missing = {}

    def _resolved(self) -> Missing:
        if self._compute is not None:
            self._fields, self._compute = self._compute(), None
        return self._fields

    def __getitem__(self, name: str) -> Mask:
        return self._resolved()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._resolved())

    def __len__(self) -> int:
        return len(self._resolved())

    def __repr__(self) -> str:
        return f"OnDemand({self._resolved()!r})"


@dataclass(frozen=True)
class CriterionColumn:
    """One criterion over all households: status (1 true, 0 false, -1 unknown) and, per
    field, the households whose unknown answer that field's missing value explains."""

    id: str
    status: npt.NDArray[np.int8]
    missing: Mapping[str, Mask]


@dataclass(frozen=True)
class BatchResult:
    """A rule set over all households of a snapshot table, in the table's row order."""

    program: str
    evaluated_on: date
    rule_set_hash: str
    #: 1 eligible, 0 not eligible, -1 unknown (as `explain`: false wins over unknown).
    status: npt.NDArray[np.int8]
    criteria: tuple[CriterionColumn, ...]


@dataclass(frozen=True, slots=True)
class Column:
    """A node's value at one level: values (an array of the level's length, or one numpy
    scalar for every row), and where they are known (None: everywhere)."""

    values: Any
    known: Mask | None = None

    def truth(self) -> Any:
        """The values as flags (an array or a numpy scalar)."""
        return cast(self.values, np.bool_)

    def holds(self) -> Any:
        """Where the value is known and true."""
        truth = self.truth()
        return truth if self.known is None else apply(np.logical_and, truth, self.known)

    def fails(self) -> Any:
        """Where the value is known and false."""
        if self.known is None:
            return apply(np.logical_not, self.truth())
        return apply(np.greater, self.known, self.truth())  # known and not true

    def unknown(self) -> Mask | None:
        """Where the value is not known (None: nowhere)."""
        return None if self.known is None else apply(np.logical_not, self.known)


@dataclass(frozen=True)
class CodeLists:
    """A list-of-codes field at one level: flat code ids with the row each belongs to
    (members counted household by household, not in slot order)."""

    ids: Array
    parent: Array
    known: Mask | None


def known_in_all(masks: Iterable[Mask | None]) -> Mask | None:
    """Where every mask holds (None for a mask known everywhere, and for the result)."""
    found = [mask for mask in masks if mask is not None]
    if not found:
        return None
    merged = found[0]
    for mask in found[1:]:
        merged = apply(np.logical_and, merged, mask)
    return merged
