"""numpy operations whose results can be allocated from an `Arena`.

numpy takes large arrays from malloc, which gives them back to the kernel when they are
freed, so every new array costs a page fault per 4 KiB when it is first written: over a
million households that was most of the evaluator's time. The evaluator keeps its arrays'
memory in an arena and uses it again, within a slice of households and from one slice to
the next.
"""

from __future__ import annotations

from collections import defaultdict
from contextvars import ContextVar
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

Array = npt.NDArray[Any]
Mask = npt.NDArray[np.bool_]

_RESULT: dict[tuple[Any, ...], np.dtype[Any]] = {}


class Arena:
    """Memory used again as soon as the arrays made from it are gone. Each array is made
    over a `_Lease` of a block of memory; every view of the array keeps the array, so the
    lease, alive, and when the last one goes the block is free again. Arrays of about the
    same size share a size class, so the next slice's arrays take the previous slice's
    blocks."""

    def __init__(self) -> None:
        #: Free blocks (address, memory) by size class.
        self._free: dict[int, list[tuple[int, Array]]] = defaultdict(list)

    def array(self, size: int, kind: np.dtype[Any]) -> Array:
        """An uninitialised array of `size` items of `kind`."""
        nbytes = max(size * kind.itemsize, 1)
        # 8 size classes a doubling: the top 4 bits of the size, rounded up.
        shift = max((nbytes - 1).bit_length() - 3, 12)
        size_class = ((nbytes - 1) >> shift) + 1 << shift
        free = self._free[size_class]
        if free:
            block = free.pop()
        else:
            memory = np.empty(size_class, np.uint8)
            block = (memory.__array_interface__["data"][0], memory)
        return np.asarray(_Lease(free, block, size, kind.str))


class _Lease:
    """A block of an arena's memory, lent to one array (its base) until it is gone."""

    __slots__ = ("__array_interface__", "_block", "_free")

    def __init__(
        self, free: list[tuple[int, Array]], block: tuple[int, Array], size: int, typestr: str
    ) -> None:
        self._free = free
        self._block = block
        self.__array_interface__ = {
            "data": (block[0], False),
            "shape": (size,),
            "typestr": typestr,
            "version": 3,
        }

    def __del__(self) -> None:
        self._free.append(self._block)


#: The arena of the evaluation running in this thread or task (None: plain numpy arrays).
ARENA: ContextVar[Arena | None] = ContextVar("batch_arena", default=None)


def empty(size: int, dtype: Any) -> Array:
    """An uninitialised array of `size` items (in the current arena, if any)."""
    kind = np.dtype(dtype)
    arena = ARENA.get()
    if arena is None:
        return np.empty(size, kind)
    return arena.array(size, kind)


def zeros(size: int, dtype: Any) -> Array:
    """An array of `size` zeros (false)."""
    array = empty(size, dtype)
    array.fill(0)
    return array


def full(size: int, value: Any, dtype: Any) -> Array:
    """An array of `size` times `value`."""
    array = empty(size, dtype)
    array.fill(value)
    return array


def apply(ufunc: np.ufunc, *args: Any) -> Any:
    """`ufunc(*args)`: an array when an operand is one, else a numpy scalar."""
    size = -1
    for arg in args:
        if type(arg) is np.ndarray:
            size = len(arg)
            break
    if size < 0:
        return ufunc(*args)
    kinds = tuple(getattr(arg, "dtype", None) or type(arg) for arg in args)
    key = (ufunc, *kinds)
    dtype = _RESULT.get(key)
    if dtype is None:
        dtype = _RESULT[key] = ufunc.resolve_dtypes((*kinds, None))[-1]
    return ufunc(*args, out=empty(size, dtype))


def take(values: Array, indices: Array) -> Array:
    """`values[indices]` (read-only when the indices are int32)."""
    if indices.dtype == np.int32:
        return gather(values, arrow(indices), checked=True)
    return np.take(values, indices, out=empty(len(indices), values.dtype))


def gather(values: Array, indices: pa.Array, checked: bool = False) -> Array:
    """`values[indices]` for int32 `indices`, in range unless `checked` (read-only). Arrow's
    take reads int32 indices as they are, where numpy first widens them to intp: the
    members' slot layout gathers every member field of a slice."""
    taken = pc.take(arrow(values), indices, boundscheck=checked)
    found: Array = taken.to_numpy(zero_copy_only=True).view(values.dtype)
    return found


def arrow(values: Array) -> pa.Array:
    """A numpy array of numbers or flags (as bytes) as an Arrow array, without a copy."""
    raw = values.view(np.uint8) if values.dtype == np.bool_ else values
    return pa.Array.from_buffers(
        pa.from_numpy_dtype(raw.dtype), len(raw), [None, pa.py_buffer(raw)]
    )


def select(size: int, choices: list[tuple[Any, Any]], dtype: Any) -> Array:
    """Per row, the value (array or scalar) of the choice whose mask holds there (masks do
    not overlap; 0 where none holds). Made with bitwise operations: numpy's masked copies
    (`copyto(where=)`, `np.where`) branch on every row and are many times slower."""
    kind = np.dtype(dtype)
    if kind == np.bool_:
        out = zeros(size, bool)
        for mask, values in choices:
            np.logical_or(out, apply(np.logical_and, mask, values), out=out)
        return out
    if kind.kind in "fi" and all(np.ndim(v) == 0 and np.isfinite(v) for _, v in choices):
        # One number a choice: the sum of mask times number (exact: one term is not 0).
        total = zeros(size, kind)
        for mask, value in choices:
            if value != 0:
                np.add(total, apply(np.multiply, mask, kind.type(value)), out=total)
        return total
    raw = np.dtype(f"u{kind.itemsize}")  # the values' bits
    out = zeros(size, raw)
    for mask, values in choices:
        if np.ndim(values) == 0:
            bits_of = np.asarray(values, dtype=kind).view(raw)[()]
        else:
            bits_of = cast(values, kind).view(raw)
        everywhere = apply(np.negative, cast(mask, raw))  # all ones where the mask holds
        np.bitwise_or(out, apply(np.bitwise_and, everywhere, bits_of), out=out)
    return out.view(kind)


def cast(values: Any, dtype: Any) -> Any:
    """`values` as `dtype` (themselves when they already are)."""
    if values.dtype == dtype:
        return values
    if np.ndim(values) == 0:
        return values.astype(dtype)
    out = empty(len(values), dtype)
    np.copyto(out, values, casting="unsafe")
    return out


def joined(parts: list[Array], dtype: Any) -> Array:
    """The parts one after the other, as `dtype`."""
    if len(parts) == 1:
        single: Array = cast(parts[0], np.dtype(dtype))
        return single
    out = empty(sum(len(part) for part in parts), dtype)
    if parts:
        np.concatenate(parts, out=out, casting="unsafe")
    return out


def bits(buffer: pa.Buffer, offset: int, length: int) -> Mask:
    """`length` bits of an Arrow bitmap from bit `offset`, as flags."""
    start, skip = offset // 8, offset % 8
    raw = np.frombuffer(buffer, dtype=np.uint8)[start : start + (skip + length + 7) // 8]
    flags: Mask = np.unpackbits(raw, count=skip + length, bitorder="little").view(bool)
    return flags[skip:]
