"""Members laid out slot by slot, so that folding them back per household is a few
contiguous array operations instead of a scatter over millions of members.

Households are ordered by their number of members, largest first (stable); slot k holds
the k-th member of every household that has more than k members, in that order. The
households with a k-th member are then a prefix of the ordered households, so a per-household
`any`, count or sum over members is one in-place operation per slot on a prefix, and member
order within a household is kept (sums add members in order, as `explain` does). Household
results are put back in the table's order with one gather.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from selaras_eligibility.rules.batch.arrays import (
    apply,
    arrow,
    empty,
    full,
    gather,
    joined,
    take,
    zeros,
)
from selaras_eligibility.rules.batch.values import Array, Mask


class Members:
    """The slot layout of the members of `len(sizes)` households (`sizes`: members each)."""

    def __init__(self, sizes: npt.NDArray[np.int64]) -> None:
        self.sizes = sizes
        self.households = households = len(sizes)
        # Sizes are small: as int16, numpy's stable sort is a radix sort.
        descending = apply(np.negative, np.minimum(sizes, 2**15 - 1).astype(np.int16))
        self.order: Array = np.argsort(descending, kind="stable")
        ordered = take(sizes, self.order)
        #: Households with more than k members: a prefix of `order` of this length.
        self.counts = [int(c) for c in np.bincount(ordered, minlength=1)[::-1].cumsum()[::-1][1:]]
        self.starts = [0, *np.cumsum(self.counts).tolist()]
        self.total = self.starts[-1]
        # Positions as int32 where they fit, so that `gather` can take Arrow indices of them.
        index = np.dtype(np.int32 if max(households, self.total) < 2**31 else np.intp)
        self.rank: Array | None = None
        if not np.array_equal(self.order, np.arange(households)):
            self.rank = empty(households, index)
            self.rank[self.order] = np.arange(households)
        first = zeros(households, np.int64)
        np.cumsum(sizes[:-1], out=first[1:])
        first = take(first, self.order)
        #: Position in the members' own order (household by household) of each slot entry.
        self.source: Array = joined(
            [first[:0], *(apply(np.add, first[:count], k) for k, count in enumerate(self.counts))],
            index,
        )
        self._slot_of: Array | None = None
        #: `source` and `rank` as Arrow indices, for `gather` (None: not int32).
        self._source = arrow(self.source) if index == np.int32 else None
        self._rank = None if self.rank is None or index != np.int32 else arrow(self.rank)

    def slots(self) -> list[tuple[int, slice]]:
        """Each slot's households (a prefix of the ordered households) and members."""
        return [
            (count, slice(start, start + count))
            for count, start in zip(self.counts, self.starts, strict=False)
        ]

    def empty(self) -> Mask:
        """Households without members."""
        found: Mask = apply(np.equal, self.sizes, 0)
        return found

    def arrange(self, values: Array) -> Array:
        """Members' values given household by household, in slot order."""
        if self._source is None:
            return take(values, self.source)
        return gather(values, self._source)

    def slot_of(self, positions: Array) -> Array:
        """Slot positions of members given by their position household by household."""
        if self._slot_of is None:
            self._slot_of = empty(self.total, np.intp)
            self._slot_of[self.source] = np.arange(self.total)
        return take(self._slot_of, positions)

    def _fold(self, values: Array, dtype: Any, combine: np.ufunc, start: Any = 0) -> Array:
        out = full(self.households, start, dtype)
        for count, members in self.slots():
            head = out[:count]
            combine(head, values[members], out=head)
        if self.rank is None:
            return out
        return take(out, self.rank) if self._rank is None else gather(out, self._rank)

    def any(self, mask: Any) -> Mask:
        """Households with at least one member where `mask` holds."""
        if np.ndim(mask) == 0:
            return apply(np.greater, self.sizes, 0) if mask else zeros(self.households, bool)
        if not mask.any():
            return zeros(self.households, bool)
        return self._fold(mask, bool, np.logical_or)

    def most(self, levels: Array) -> Array:
        """The greatest of each household's members' levels (uint8; 0 without members)."""
        return self._fold(levels, np.uint8, np.maximum)

    def least(self, levels: Array, start: int) -> Array:
        """The least of each household's members' levels (uint8; `start` without members)."""
        return self._fold(levels, np.uint8, np.minimum, start)

    def count(self, mask: Any) -> Array:
        """How many members of each household `mask` holds for."""
        if np.ndim(mask) == 0:
            counts: Array = apply(np.multiply, self.sizes, int(bool(mask)))
            return counts
        return self._fold(mask, np.int32, np.add)

    def sum(self, values: Array) -> Array:
        """The sum over each household's members, added in member order from 0.0."""
        return self._fold(values, np.float64, np.add)

    def first(self, mask: Mask) -> tuple[Array, Array]:
        """Households with a member where `mask` holds, and the slot position of the first
        such member of each."""
        ordered = np.full(self.households, -1, dtype=np.int64)
        for k in range(len(self.counts) - 1, -1, -1):
            count, start = self.counts[k], self.starts[k]
            head = ordered[:count]
            head[mask[start : start + count]] = k
        found = np.flatnonzero(ordered >= 0)
        return self.order[found], np.asarray(self.starts)[ordered[found]] + found
