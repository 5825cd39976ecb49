"""Arithmetic operations over numbers: `+`, `-`, `*`, `/`, `min`, `max`."""

from __future__ import annotations

from typing import Any

from selaras_eligibility.rules.compiler.base import CompilerBase
from selaras_eligibility.rules.compiler.problems import ERROR, NUMBER, Scope, Typed, problem
from selaras_eligibility.rules.nodes import Arith, Const


class ArithmeticOperations(CompilerBase):
    """Compiles arithmetic, rejecting a literal division by zero."""

    def _arith(self, args: list[Any], op: str, path: str, scope: Scope, depth: int) -> Typed:
        low, high = {"-": (1, 2), "/": (2, 2)}.get(op, (1, None))
        if not self._arity(args, op, path, low, high):
            return Const(None), ERROR
        typed = self._args(args, path, scope, depth)
        for i, (_, type) in enumerate(typed):
            self._expect(type, NUMBER, self._at(path, i))
        if op == "/" and isinstance(typed[1][0], Const) and typed[1][0].value == 0:
            self.problems.append(
                problem(
                    self._at(path, 1),
                    "division_by_zero",
                    "Pembagian dengan nol",
                    "Division by zero",
                )
            )
        return Arith(op, tuple(node for node, _ in typed)), NUMBER  # type: ignore[arg-type]
