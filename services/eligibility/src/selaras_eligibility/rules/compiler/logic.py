"""Logic and comparison operations: `==` `!=` `<` `<=` `>` `>=`, `and` `or` `!`, `if`, `in`."""

from __future__ import annotations

from typing import Any

from selaras_eligibility.rules import limits
from selaras_eligibility.rules.compiler.base import CompilerBase
from selaras_eligibility.rules.compiler.problems import (
    BOOLEAN,
    CODE,
    CODES,
    ERROR,
    NULL,
    NUMBER,
    Scope,
    TooLarge,
    Typed,
    problem,
)
from selaras_eligibility.rules.nodes import Compare, Const, If, In, Logic, Node, Not, Var


class LogicOperations(CompilerBase):
    """Compiles logic, comparisons, `if` and `in`, checking operand types."""

    def _equality(self, args: list[Any], op: str, path: str, scope: Scope, depth: int) -> Typed:
        if not self._arity(args, op, path, 2, 2):
            return Const(None), ERROR
        (left, left_type), (right, right_type) = self._args(args, path, scope, depth)
        if ERROR not in (left_type, right_type):
            if NULL in (left_type, right_type):
                other = right if left_type == NULL else left
                if not (isinstance(other, Var) and not other.field.null_is_missing):
                    self.problems.append(
                        problem(
                            self._base(path),
                            "null_comparison",
                            "null hanya dapat dibandingkan dengan kolom yang boleh kosong "
                            "(disability.*, chronic_illness); data kosong lain berarti "
                            "'tidak diketahui'",
                            "null can only be compared with fields where empty is a value "
                            "(disability.*, chronic_illness); other empty data means unknown",
                        )
                    )
            elif left_type != right_type or left_type == CODES:
                self._type_mismatch(self._base(path), op, left_type, right_type)
            else:
                self._check_codes(left, right, self._at(path, 1))
                self._check_codes(right, left, self._at(path, 0))
        return Compare(op, (left, right)), BOOLEAN  # type: ignore[arg-type]

    def _order(self, args: list[Any], op: str, path: str, scope: Scope, depth: int) -> Typed:
        if not self._arity(args, op, path, 2, 3 if op in ("<", "<=") else 2):
            return Const(None), ERROR
        typed = self._args(args, path, scope, depth)
        for i, (_, type) in enumerate(typed):
            self._expect(type, NUMBER, self._at(path, i))
        return Compare(op, tuple(node for node, _ in typed)), BOOLEAN  # type: ignore[arg-type]

    def _logic(self, args: list[Any], op: str, path: str, scope: Scope, depth: int) -> Typed:
        if not self._arity(args, op, path, 1, None):
            return Const(None), ERROR
        typed = self._args(args, path, scope, depth)
        for i, (_, type) in enumerate(typed):
            self._expect(type, BOOLEAN, self._at(path, i))
        return Logic(op, tuple(node for node, _ in typed)), BOOLEAN  # type: ignore[arg-type]

    def _not(self, args: list[Any], op: str, path: str, scope: Scope, depth: int) -> Typed:
        if not self._arity(args, op, path, 1, 1):
            return Const(None), ERROR
        node, type = self._node(args[0], self._at(path, 0), scope, depth)
        self._expect(type, BOOLEAN, self._at(path, 0))
        return Not(node), BOOLEAN

    def _if(self, args: list[Any], op: str, path: str, scope: Scope, depth: int) -> Typed:
        if len(args) < 3 or len(args) % 2 == 0:
            return self._error(
                self._base(path),
                "if_shape",
                "'if' perlu kondisi, nilai, ..., dan nilai 'selain itu' (jumlah ganjil >= 3)",
                "'if' needs condition, value, ..., and an else value (an odd count >= 3)",
            )
        typed = self._args(args, path, scope, depth)
        branch_types = {
            type for i, (_, type) in enumerate(typed) if i % 2 == 1 or i == len(args) - 1
        }
        for i, (_, type) in enumerate(typed[:-1]):
            if i % 2 == 0:
                self._expect(type, BOOLEAN, self._at(path, i))
        branch_types.discard(ERROR)
        if len(branch_types) > 1 or branch_types & {NULL, CODES}:
            self.problems.append(
                problem(
                    self._base(path),
                    "if_branches",
                    "Semua cabang 'if' harus bertipe sama: angka, kode atau benar/salah (ada {t})",
                    "All branches of 'if' must have one type: number, code or boolean ({t})",
                    t=", ".join(sorted(branch_types)),
                )
            )
            return If(tuple(node for node, _ in typed)), ERROR
        result = branch_types.pop() if branch_types else ERROR
        return If(tuple(node for node, _ in typed)), result

    def _in(self, args: list[Any], op: str, path: str, scope: Scope, depth: int) -> Typed:
        if not self._arity(args, op, path, 2, 2):
            return Const(None), ERROR
        needle, needle_type = self._node(args[0], self._at(path, 0), scope, depth)
        haystack_path = self._at(path, 1)
        raw = args[1]
        if isinstance(raw, list):
            if len(raw) > limits.MAX_LIST:
                self._list_too_long(haystack_path)
                return In(needle, Const(())), BOOLEAN
            self.nodes += len(raw)
            if self.nodes > limits.MAX_NODES:
                raise TooLarge
            item_types = {
                self._literal_type(item, f"{haystack_path}[{i}]") for i, item in enumerate(raw)
            }
            item_types.discard(ERROR)
            if len(item_types) > 1 or item_types - {NUMBER, CODE}:
                self.problems.append(
                    problem(
                        haystack_path,
                        "list_items",
                        "Isi daftar harus semua kode atau semua angka",
                        "List items must be all codes or all numbers",
                    )
                )
                return In(needle, Const(tuple(raw))), BOOLEAN
            item_type = item_types.pop() if item_types else needle_type
            haystack: Node = Const(tuple(raw))
            if needle_type not in (ERROR, item_type):
                self._type_mismatch(self._base(path), op, needle_type, item_type)
            elif isinstance(needle, Var) and needle.field.codes is not None:
                for i, item in enumerate(raw):
                    self._check_code(needle.field, item, f"{haystack_path}[{i}]")
            return In(needle, haystack), BOOLEAN
        haystack, haystack_type = self._node(raw, haystack_path, scope, depth)
        if haystack_type not in (CODES, ERROR):
            self.problems.append(
                problem(
                    haystack_path,
                    "in_haystack",
                    "Argumen kedua 'in' harus daftar atau kolom daftar kode, bukan {type}",
                    "The second argument of 'in' must be a list or a list of codes, not {type}",
                    type=haystack_type,
                )
            )
        elif haystack_type == CODES:
            self._expect(needle_type, CODE, self._at(path, 0))
            if isinstance(haystack, Var) and isinstance(needle, Const):
                self._check_code(haystack.field, needle.value, self._at(path, 0))
        return In(needle, haystack), BOOLEAN
