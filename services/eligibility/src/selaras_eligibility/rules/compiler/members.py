"""Member operations: `some`/`all`/`none` over members, `count_members`, `sum_members`."""

from __future__ import annotations

from typing import Any

from selaras_eligibility.rules.compiler.base import CompilerBase
from selaras_eligibility.rules.compiler.problems import (
    BOOLEAN,
    ERROR,
    NUMBER,
    Scope,
    Typed,
    problem,
)
from selaras_eligibility.rules.fields import MEMBERS
from selaras_eligibility.rules.nodes import Const, CountMembers, Node, Quantifier, SumMembers


class MemberOperations(CompilerBase):
    """Compiles member operations and their member-scoped rules."""

    def _members_arg(self, raw: Any, path: str) -> bool:
        if isinstance(raw, dict) and raw in ({"var": MEMBERS}, {"var": [MEMBERS]}):
            return True
        self.problems.append(
            problem(
                path,
                "members_expected",
                'Argumen pertama harus {{"var": "members"}}',
                'The first argument must be {{"var": "members"}}',
            )
        )
        return False

    def _member_scope(self, op: str, path: str, scope: Scope) -> bool:
        if scope == "household":
            return True
        self.problems.append(
            problem(
                path,
                "nested_member_operation",
                "Operasi anggota '{op}' tidak dapat bersarang di dalam operasi anggota lain",
                "Member operation '{op}' cannot be nested inside another member operation",
                op=op,
            )
        )
        return False

    def _member_rule(self, raw: Any, path: str, depth: int) -> Node:
        node, type = self._node(raw, path, "member", depth)
        self._expect(type, BOOLEAN, path)
        return node

    def _quantifier(self, args: list[Any], op: str, path: str, scope: Scope, depth: int) -> Typed:
        if not self._arity(args, op, path, 2, 2) or not self._member_scope(
            op, self._base(path), scope
        ):
            return Const(None), ERROR
        self._members_arg(args[0], self._at(path, 0))
        predicate = self._member_rule(args[1], self._at(path, 1), depth)
        return Quantifier(op, predicate), BOOLEAN  # type: ignore[arg-type]

    def _count_members(
        self, args: list[Any], op: str, path: str, scope: Scope, depth: int
    ) -> Typed:
        if not self._arity(args, op, path, 0, 1) or not self._member_scope(
            op, self._base(path), scope
        ):
            return Const(None), ERROR
        predicate = self._member_rule(args[0], self._at(path, 0), depth) if args else None
        return CountMembers(predicate), NUMBER

    def _sum_members(self, args: list[Any], op: str, path: str, scope: Scope, depth: int) -> Typed:
        if not self._arity(args, op, path, 1, 2) or not self._member_scope(
            op, self._base(path), scope
        ):
            return Const(None), ERROR
        value, type = self._node(args[0], self._at(path, 0), "member", depth)
        self._expect(type, NUMBER, self._at(path, 0))
        predicate = self._member_rule(args[1], self._at(path, 1), depth) if len(args) > 1 else None
        return SumMembers(value, predicate), NUMBER
