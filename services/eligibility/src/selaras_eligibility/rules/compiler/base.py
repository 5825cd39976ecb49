"""Dispatch of rule nodes to the operation that compiles them, with the size and depth limits.

A node is looked up in the operation table by its single key; the limits are checked before
descending, so a hostile rule costs at most `limits.MAX_NODES` steps and `limits.MAX_DEPTH`
stack frames.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from selaras_eligibility.rules import limits
from selaras_eligibility.rules.compiler.problems import Checks, Scope, TooLarge, Typed, problem
from selaras_eligibility.rules.nodes import Const

Operation = Callable[[list[Any], str, str, Scope, int], Typed]


class CompilerBase(Checks):
    """Node dispatch and argument helpers; the operation table is filled by the compiler."""

    _operations: dict[str, Operation]

    def _node(self, raw: Any, path: str, scope: Scope, depth: int) -> Typed:
        """Compile one node of a rule at `path`."""
        self.nodes += 1
        if self.nodes > limits.MAX_NODES:
            raise TooLarge
        if isinstance(raw, dict):
            return self._operation(raw, path, scope, depth + 1)
        if isinstance(raw, list):
            return self._error(
                path,
                "list_not_allowed",
                "Daftar hanya boleh sebagai argumen kedua 'in'",
                "A list is only allowed as the second argument of 'in'",
            )
        return Const(raw), self._literal_type(raw, path)

    def _operation(self, raw: dict[Any, Any], path: str, scope: Scope, depth: int) -> Typed:
        if depth > limits.MAX_DEPTH:
            return self._error(
                path,
                "too_deep",
                "Bersarang terlalu dalam (maksimal {limit} tingkat operasi)",
                "Nested too deeply (at most {limit} levels of operations)",
                limit=limits.MAX_DEPTH,
            )
        if len(raw) != 1:
            return self._error(
                path,
                "operation_shape",
                "Operasi harus objek dengan tepat satu kunci (ada {count})",
                "An operation must be an object with exactly one key (found {count})",
                count=len(raw),
            )
        op, args = next(iter(raw.items()))
        handler = self._operations.get(op) if isinstance(op, str) else None
        if handler is None:
            return self._error(
                path,
                "unknown_operation",
                "Operasi tidak dikenal: {op}",
                "Unknown operation: {op}",
                op=str(op)[: limits.MAX_STRING],
            )
        arg_path = f"{path}.{op}"
        if not isinstance(args, list):
            return handler([args], op, arg_path, scope, depth)
        if len(args) > limits.MAX_LIST:
            return self._list_too_long(arg_path)
        return handler(args, op, arg_path + "[{}]", scope, depth)

    @staticmethod
    def _at(path: str, index: int) -> str:
        """The path of argument `index` (`path` ends in `[{}]` when arguments were a list)."""
        return path.format(index) if path.endswith("[{}]") else path

    @staticmethod
    def _base(path: str) -> str:
        return path.removesuffix("[{}]")

    def _args(self, args: list[Any], path: str, scope: Scope, depth: int) -> list[Typed]:
        return [self._node(arg, self._at(path, i), scope, depth) for i, arg in enumerate(args)]

    def _arity(self, args: list[Any], op: str, path: str, low: int, high: int | None) -> bool:
        if len(args) >= low and (high is None or len(args) <= high):
            return True
        expected = str(low) if high == low else f"{low}–{high if high is not None else 'n'}"
        self.problems.append(
            problem(
                self._base(path),
                "arity",
                "'{op}' menerima {expected} argumen, bukan {count}",
                "'{op}' takes {expected} arguments, not {count}",
                op=op,
                expected=expected,
                count=len(args),
            )
        )
        return False
