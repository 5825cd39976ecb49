"""Operations on node columns that do not read the snapshot: logic, comparisons and
arithmetic, three-valued (a result is unknown where an operand it needs is)."""

from __future__ import annotations

from functools import reduce
from itertools import pairwise
from typing import Any

import numpy as np

from selaras_eligibility.rules.batch.arrays import apply, cast, zeros
from selaras_eligibility.rules.batch.values import Column, Mask, known_in_all

COMPARE: dict[str, np.ufunc] = {
    "==": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


def logic(is_and: bool, args: list[Column]) -> Column:
    """`and` / `or` in three-valued logic."""
    decisive = not is_and  # `and` is decided by a false operand, `or` by a true one
    decided: Any = None
    for arg in args:
        hit = arg.holds() if decisive else arg.fails()
        decided = hit if decided is None else apply(np.logical_or, decided, hit)
    all_known = known_in_all(arg.known for arg in args)
    values = decided if decisive else apply(np.logical_not, decided)
    known = None if all_known is None else apply(np.logical_or, decided, all_known)
    return Column(values, known)


def compare(op: str, args: list[Column]) -> Column:
    """A comparison: unknown where an operand is."""
    known = known_in_all(arg.known for arg in args)
    operands = comparable([arg.values for arg in args])
    if len(operands) == 2:
        return Column(apply(COMPARE[op], *operands), known)
    less = COMPARE[op]  # a between: `<` or `<=` of three operands
    values = reduce(
        lambda a, b: apply(np.logical_and, a, b),
        [apply(less, a, b) for a, b in pairwise(operands)],
    )
    return Column(values, known)


def arithmetic(op: str, args: list[Column], size: int) -> Column:
    """Arithmetic over numbers (`size`: rows of the level, for a division by a constant 0)."""
    known = known_in_all(arg.known for arg in args)
    operands = [cast(arg.values, np.float64) for arg in args]
    with np.errstate(all="ignore"):  # unknown rows may hold anything; overflow is inf
        if op in ("+", "*"):
            # From 0 (1), operand by operand, as `explain` adds (multiplies) them.
            values: Any = np.float64(0.0 if op == "+" else 1.0)
            for operand in operands:
                values = apply(np.add if op == "+" else np.multiply, values, operand)
        elif op == "-":
            values = (
                apply(np.negative, operands[0])
                if len(operands) == 1
                else apply(np.subtract, *operands)
            )
        elif op == "/":
            values, known = _divide(operands[0], operands[1], known, size)
        else:
            extreme = np.minimum if op == "min" else np.maximum
            values = reduce(lambda a, b: apply(extreme, a, b), operands)
    return Column(values, known)


def _divide(dividend: Any, divisor: Any, known: Mask | None, size: int) -> Any:
    """The quotient and where it is known: division by zero is unknown (explain's rule),
    without a missing field."""
    zero = apply(np.equal, divisor, 0.0)
    if np.ndim(zero) == 0:
        if zero:
            return np.float64(0.0), zeros(size, bool)
        return apply(np.divide, dividend, divisor), known
    # Divided by 1 where the divisor is 0: those rows are unknown.
    quotient = apply(np.divide, dividend, apply(np.add, divisor, zero))
    return quotient, apply(np.logical_not, zero) if known is None else apply(
        np.greater, known, zero
    )


def small_whole(value: Any) -> bool:
    """Whether a value is one number, whole and small enough for int16."""
    return (
        np.ndim(value) == 0
        and value.dtype.kind == "f"
        and bool(np.isfinite(value))
        and value.is_integer()
        and abs(value) < 2**15
    )


def comparable(operands: list[Any]) -> list[Any]:
    """Operands for a comparison: a whole-number float scalar compared with an integer column
    (ages) is given as a Python int, so the column is compared as it is, not as float64."""
    if not any(np.ndim(value) and value.dtype.kind == "i" for value in operands):
        return operands
    return [
        int(value)
        if np.ndim(value) == 0 and value.dtype.kind == "f" and value.is_integer()
        else value
        for value in operands
    ]
