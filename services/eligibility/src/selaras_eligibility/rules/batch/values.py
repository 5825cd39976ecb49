"""Column values of the batch evaluator: a node's values with their known mask and the
fields that explain its unknowns, the results, and how missing fields combine."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

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
class Column:
    """A node's value at one level: values, where they are known, and why they are not."""

    values: Array
    known: Mask
    missing: dict[str, Mask] = field(default_factory=dict)


@dataclass(frozen=True)
class CodeLists:
    """A list-of-codes field at one level: flat code ids with the row each belongs to."""

    ids: Array
    parent: Array
    known: Mask
    missing: dict[str, Mask]


def union(parts: Iterable[dict[str, Mask]]) -> dict[str, Mask]:
    """The missing fields of all `parts`, row by row."""
    merged: dict[str, Mask] = {}
    for part in parts:
        for name, mask in part.items():
            merged[name] = merged[name] | mask if name in merged else mask
    return merged


def only(missing: dict[str, Mask], where: Mask) -> dict[str, Mask]:
    """The missing fields kept only on the rows of `where`."""
    return {name: mask & where for name, mask in missing.items()}


def choose(choices: list[tuple[Mask, dict[str, Mask]]], n: int) -> dict[str, Mask]:
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
