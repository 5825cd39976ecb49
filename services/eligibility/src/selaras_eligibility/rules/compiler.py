"""Compile a rule-set document into typed node trees, rejecting anything unsafe or ill-typed.

The compiler only reads plain JSON data (dicts, lists, strings, numbers, booleans, null) and
looks operations and fields up in fixed tables: nothing from a rule is ever executed, imported
or used as an attribute name. Size and depth are checked before descending, so a hostile rule
costs at most `limits.MAX_NODES` steps and `limits.MAX_DEPTH` stack frames.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from selaras_eligibility.rules import limits
from selaras_eligibility.rules.document import RuleSetDocument, content_hash
from selaras_eligibility.rules.errors import RuleProblem, RuleSetInvalid
from selaras_eligibility.rules.fields import (
    HOUSEHOLD_FIELDS,
    MEMBER_FIELDS,
    MEMBERS,
    FieldSpec,
    ValueType,
)
from selaras_eligibility.rules.nodes import (
    Arith,
    Compare,
    CompiledCriterion,
    CompiledRuleSet,
    Const,
    CountMembers,
    If,
    In,
    Logic,
    Node,
    Not,
    Param,
    Quantifier,
    SumMembers,
    Value,
    Var,
)
from selaras_shared.i18n import Text

#: String literals are codes or plain words: no brackets, quotes, `__` or other syntax.
_SAFE_STRING = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.,/-]*$")

NUMBER, BOOLEAN, CODE, CODES = ValueType.number, ValueType.boolean, ValueType.code, ValueType.codes
NULL, ERROR = ValueType.null, ValueType.error
Scope = str  # "household" or "member"
Typed = tuple[Node, ValueType]


class _TooLarge(Exception):
    """Stops compiling a rule once it passes the node limit."""


def compile_rule_set(document: RuleSetDocument) -> CompiledRuleSet:
    """Compile and type-check every criterion; raise `RuleSetInvalid` with all problems found."""
    compiler = _Compiler(document)
    criteria = compiler.compile_criteria()
    if compiler.problems:
        raise RuleSetInvalid(compiler.problems)
    return CompiledRuleSet(
        program=document.program,
        effective_from=document.effective_from,
        effective_to=document.effective_to,
        content_hash=content_hash(document),
        parameters=compiler.parameter_values,
        parameter_types=compiler.parameter_types,
        criteria=tuple(criteria),
    )


def _problem(path: str, code: str, id: str, en: str, /, **params: Any) -> RuleProblem:
    return RuleProblem(path, code, Text(id, en, params))


class _Compiler:
    """State of one compilation: problems found and, per rule, nodes seen and names used."""

    def __init__(self, document: RuleSetDocument) -> None:
        self.document = document
        self.problems: list[RuleProblem] = []
        self.parameter_values: dict[str, tuple[tuple[date, Value], ...]] = {}
        self.parameter_types: dict[str, ValueType] = {}
        self.nodes = 0
        self.fields: set[str] = set()
        self.params: set[str] = set()
        self._operations: dict[str, Callable[[list[Any], str, str, Scope, int], Typed]] = {
            "var": self._var,
            "param": self._param,
            "==": self._equality,
            "!=": self._equality,
            "<": self._order,
            "<=": self._order,
            ">": self._order,
            ">=": self._order,
            "and": self._logic,
            "or": self._logic,
            "!": self._not,
            "if": self._if,
            "+": self._arith,
            "-": self._arith,
            "*": self._arith,
            "/": self._arith,
            "min": self._arith,
            "max": self._arith,
            "in": self._in,
            "some": self._quantifier,
            "all": self._quantifier,
            "none": self._quantifier,
            "count_members": self._count_members,
            "sum_members": self._sum_members,
            "age": self._age,
        }

    # --- document level ---------------------------------------------------------------

    def compile_criteria(self) -> list[CompiledCriterion]:
        """Check parameters and period, then compile each criterion's rule."""
        self._check_parameters()
        compiled: list[CompiledCriterion] = []
        seen: set[str] = set()
        for index, criterion in enumerate(self.document.criteria):
            path = f"criteria[{index}]"
            if criterion.id in seen:
                self.problems.append(
                    _problem(
                        f"{path}.id",
                        "duplicate_criterion",
                        "Kriteria {id} muncul lebih dari sekali",
                        "Criterion {id} appears more than once",
                        id=criterion.id,
                    )
                )
            seen.add(criterion.id)
            self.nodes, self.fields, self.params = 0, set(), set()
            try:
                rule, type = self._node(criterion.rule, f"{path}.rule", "household", 0)
            except _TooLarge:
                self.problems.append(
                    _problem(
                        f"{path}.rule",
                        "too_many_nodes",
                        "Aturan terlalu besar (maksimal {limit} simpul)",
                        "The rule is too large (at most {limit} nodes)",
                        limit=limits.MAX_NODES,
                    )
                )
                continue
            self._expect(type, BOOLEAN, f"{path}.rule")
            compiled.append(
                CompiledCriterion(
                    criterion.id,
                    criterion.label,
                    rule,
                    tuple(sorted(self.fields)),
                    tuple(sorted(self.params)),
                )
            )
        return compiled

    def _check_parameters(self) -> None:
        for name, dated in self.document.parameters.items():
            path = f"parameters.{name}"
            if not dated:
                self.problems.append(
                    _problem(path, "parameter_empty", "Parameter tanpa nilai", "No values given")
                )
                continue
            if len(dated) > limits.MAX_PARAMETER_VALUES:
                self.problems.append(
                    _problem(
                        path,
                        "too_many_values",
                        "Terlalu banyak nilai bertanggal (maksimal {limit})",
                        "Too many dated values (at most {limit})",
                        limit=limits.MAX_PARAMETER_VALUES,
                    )
                )
                continue
            types: set[ValueType] = set()
            values: list[tuple[date, Value]] = []
            for since, raw in sorted(dated.items()):
                value_path = f"{path}.{since.isoformat()}"
                value: Value
                if isinstance(raw, list):
                    if len(raw) > limits.MAX_LIST:
                        self._list_too_long(value_path)
                        continue
                    for i, item in enumerate(raw):
                        self._check_string(item, f"{value_path}[{i}]")
                    types.add(CODES)
                    value = tuple(raw)
                else:
                    types.add(self._literal_type(raw, value_path))
                    value = raw
                values.append((since, value))
            if len(types) > 1:
                self.problems.append(
                    _problem(
                        path,
                        "parameter_type",
                        "Nilai parameter harus bertipe sama (ada: {types})",
                        "A parameter's values must have one type (found: {types})",
                        types=", ".join(sorted(types)),
                    )
                )
            if values and values[0][0] > self.document.effective_from:
                self.problems.append(
                    _problem(
                        path,
                        "parameter_gap",
                        "Parameter tidak punya nilai pada {date} (awal berlaku aturan)",
                        "The parameter has no value on {date} (when the rules take effect)",
                        date=self.document.effective_from.isoformat(),
                    )
                )
            self.parameter_values[name] = tuple(values)
            self.parameter_types[name] = types.pop() if len(types) == 1 else ERROR

    # --- nodes --------------------------------------------------------------------------

    def _node(self, raw: Any, path: str, scope: Scope, depth: int) -> Typed:
        """Compile one node of a rule at `path`."""
        self.nodes += 1
        if self.nodes > limits.MAX_NODES:
            raise _TooLarge
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
            _problem(
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

    def _var(self, args: list[Any], op: str, path: str, scope: Scope, depth: int) -> Typed:
        if len(args) != 1:
            return self._error(
                self._base(path),
                "var_default",
                "'var' menerima satu nama kolom; nilai bawaan menyembunyikan data yang hilang",
                "'var' takes one field name; a default value would hide missing data",
            )
        name = args[0]
        if not isinstance(name, str) or len(name) > limits.MAX_STRING:
            return self._error(
                self._at(path, 0), "field_name", "Nama kolom harus teks", "A field name is text"
            )
        spec = (MEMBER_FIELDS if scope == "member" else HOUSEHOLD_FIELDS).get(name)
        if spec is not None:
            if spec.scope == "household":
                self.fields.add(spec.name)
            return Var(spec), spec.type
        if name == MEMBERS:
            return self._error(
                self._at(path, 0),
                "members_position",
                "'members' hanya sebagai argumen pertama some/all/none",
                "'members' is only allowed as the first argument of some/all/none",
            )
        if scope == "member" and name in HOUSEHOLD_FIELDS:
            return self._error(
                self._at(path, 0),
                "household_field_in_member_scope",
                "Kolom keluarga {field} tidak dapat dibaca di dalam operasi anggota",
                "Household field {field} cannot be read inside a member operation",
                field=name,
            )
        if scope == "household" and name in MEMBER_FIELDS:
            return self._error(
                self._at(path, 0),
                "member_field_outside_members",
                "Kolom anggota {field} hanya dapat dibaca di dalam operasi anggota",
                "Member field {field} can only be read inside a member operation",
                field=name,
            )
        return self._error(
            self._at(path, 0),
            "unknown_field",
            "Kolom tidak dikenal: {field}",
            "Unknown field: {field}",
            field=name[:80],
        )

    def _param(self, args: list[Any], op: str, path: str, scope: Scope, depth: int) -> Typed:
        if not self._arity(args, op, path, 1, 1):
            return Const(None), ERROR
        name = args[0]
        if not isinstance(name, str) or name not in self.parameter_types:
            return self._error(
                self._at(path, 0),
                "unknown_parameter",
                "Parameter tidak dikenal: {name}",
                "Unknown parameter: {name}",
                name=str(name)[:80],
            )
        self.params.add(name)
        return Param(name), self.parameter_types[name]

    def _equality(self, args: list[Any], op: str, path: str, scope: Scope, depth: int) -> Typed:
        if not self._arity(args, op, path, 2, 2):
            return Const(None), ERROR
        (left, left_type), (right, right_type) = self._args(args, path, scope, depth)
        if ERROR not in (left_type, right_type):
            if NULL in (left_type, right_type):
                other = right if left_type == NULL else left
                if not (isinstance(other, Var) and not other.field.null_is_missing):
                    self.problems.append(
                        _problem(
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
                _problem(
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

    def _arith(self, args: list[Any], op: str, path: str, scope: Scope, depth: int) -> Typed:
        low, high = {"-": (1, 2), "/": (2, 2)}.get(op, (1, None))
        if not self._arity(args, op, path, low, high):
            return Const(None), ERROR
        typed = self._args(args, path, scope, depth)
        for i, (_, type) in enumerate(typed):
            self._expect(type, NUMBER, self._at(path, i))
        if op == "/" and isinstance(typed[1][0], Const) and typed[1][0].value == 0:
            self.problems.append(
                _problem(
                    self._at(path, 1),
                    "division_by_zero",
                    "Pembagian dengan nol",
                    "Division by zero",
                )
            )
        return Arith(op, tuple(node for node, _ in typed)), NUMBER  # type: ignore[arg-type]

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
                raise _TooLarge
            item_types = {
                self._literal_type(item, f"{haystack_path}[{i}]") for i, item in enumerate(raw)
            }
            item_types.discard(ERROR)
            if len(item_types) > 1 or item_types - {NUMBER, CODE}:
                self.problems.append(
                    _problem(
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
                _problem(
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

    def _members_arg(self, raw: Any, path: str) -> bool:
        if isinstance(raw, dict) and raw in ({"var": MEMBERS}, {"var": [MEMBERS]}):
            return True
        self.problems.append(
            _problem(
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
            _problem(
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

    def _age(self, args: list[Any], op: str, path: str, scope: Scope, depth: int) -> Typed:
        # `{"age": []}` arrives as an empty list; `{"age": null}` as [None].
        if args not in ([], [None]):
            return self._error(
                self._base(path),
                "arity",
                "'age' tidak menerima argumen",
                "'age' takes no arguments",
            )
        if scope != "member":
            return self._error(
                self._base(path),
                "member_field_outside_members",
                "'age' hanya dapat dipakai di dalam operasi anggota",
                "'age' can only be used inside a member operation",
            )
        return Var(MEMBER_FIELDS["age"]), NUMBER

    # --- literals and checks ----------------------------------------------------------

    def _literal_type(self, raw: Any, path: str) -> ValueType:
        if raw is None:
            return NULL
        if isinstance(raw, bool):
            return BOOLEAN
        if isinstance(raw, int | float):
            if (isinstance(raw, float) and not math.isfinite(raw)) or abs(raw) > limits.MAX_NUMBER:
                self.problems.append(
                    _problem(
                        path,
                        "number_range",
                        "Angka harus terhingga dan paling besar {limit}",
                        "Numbers must be finite and at most {limit} in size",
                        limit=limits.MAX_NUMBER,
                    )
                )
                return ERROR
            return NUMBER
        if isinstance(raw, str):
            return CODE if self._check_string(raw, path) else ERROR
        self.problems.append(
            _problem(path, "invalid_value", "Nilai tidak valid", "Not a valid rule value")
        )
        return ERROR

    def _check_string(self, raw: Any, path: str) -> bool:
        if (
            isinstance(raw, str)
            and len(raw) <= limits.MAX_STRING
            and _SAFE_STRING.match(raw)
            and "__" not in raw
        ):
            return True
        self.problems.append(
            _problem(
                path,
                "invalid_string",
                "Teks harus kode atau kata biasa (huruf, angka, spasi, _ . , / -; "
                "maksimal {limit} karakter, tanpa '__')",
                "Text must be a code or plain words (letters, digits, space, _ . , / -; "
                "at most {limit} characters, no '__')",
                limit=limits.MAX_STRING,
            )
        )
        return False

    def _check_codes(self, node: Node, other: Node, other_path: str) -> None:
        if isinstance(node, Var) and isinstance(other, Const):
            self._check_code(node.field, other.value, other_path)

    def _check_code(self, spec: FieldSpec, value: Any, path: str) -> None:
        if spec.codes is None or not isinstance(value, str) or value in spec.codes:
            return
        self.problems.append(
            _problem(
                path,
                "unknown_code",
                "Kode {code} tidak dikenal untuk {field}; pilihan: {codes}",
                "Code {code} is not known for {field}; choices: {codes}",
                code=value,
                field=spec.name,
                codes=", ".join(sorted(spec.codes)),
            )
        )

    def _expect(self, actual: ValueType, expected: ValueType, path: str) -> None:
        if actual not in (expected, ERROR):
            self.problems.append(
                _problem(
                    path,
                    "type_error",
                    "Diharapkan {expected}, ditemukan {actual}",
                    "Expected {expected}, found {actual}",
                    expected=expected.value,
                    actual=actual.value,
                )
            )

    def _type_mismatch(self, path: str, op: str, left: ValueType, right: ValueType) -> None:
        self.problems.append(
            _problem(
                path,
                "type_error",
                "'{op}' tidak dapat membandingkan {left} dengan {right}",
                "'{op}' cannot compare {left} with {right}",
                op=op,
                left=left.value,
                right=right.value,
            )
        )

    def _list_too_long(self, path: str) -> Typed:
        return self._error(
            path,
            "list_too_long",
            "Daftar terlalu panjang (maksimal {limit} butir)",
            "The list is too long (at most {limit} items)",
            limit=limits.MAX_LIST,
        )

    def _error(self, path: str, code: str, id: str, en: str, /, **params: Any) -> Typed:
        self.problems.append(_problem(path, code, id, en, **params))
        return Const(None), ERROR
