"""Types, problems and literal checks shared by every part of the compiler.

Checks that a literal is a safe string, a finite number in range or a known code, and records
each problem with the path of the offending node.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

from selaras_eligibility.rules import limits
from selaras_eligibility.rules.document import RuleSetDocument
from selaras_eligibility.rules.errors import RuleProblem
from selaras_eligibility.rules.fields import FieldSpec, ValueType
from selaras_eligibility.rules.nodes import Const, Node, Value, Var
from selaras_shared.i18n import Text

#: String literals are codes or plain words: no brackets, quotes, `__` or other syntax.
_SAFE_STRING = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.,/-]*$")

NUMBER, BOOLEAN, CODE, CODES = ValueType.number, ValueType.boolean, ValueType.code, ValueType.codes
NULL, ERROR = ValueType.null, ValueType.error
Scope = str  # "household" or "member"
Typed = tuple[Node, ValueType]


class TooLarge(Exception):
    """Stops compiling a rule once it passes the node limit."""


def problem(path: str, code: str, id: str, en: str, /, **params: Any) -> RuleProblem:
    """A problem at `path` with its Indonesian and English message."""
    return RuleProblem(path, code, Text(id, en, params))


class Checks:
    """State of one compilation (problems found; per rule, nodes seen and names used) and the
    checks of literals, codes and types that record problems."""

    def __init__(self, document: RuleSetDocument) -> None:
        self.document = document
        self.problems: list[RuleProblem] = []
        self.parameter_values: dict[str, tuple[tuple[date, Value], ...]] = {}
        self.parameter_types: dict[str, ValueType] = {}
        self.nodes = 0
        self.fields: set[str] = set()
        self.params: set[str] = set()

    def _literal_type(self, raw: Any, path: str) -> ValueType:
        if raw is None:
            return NULL
        if isinstance(raw, bool):
            return BOOLEAN
        if isinstance(raw, int | float):
            if (isinstance(raw, float) and not math.isfinite(raw)) or abs(raw) > limits.MAX_NUMBER:
                self.problems.append(
                    problem(
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
            problem(path, "invalid_value", "Nilai tidak valid", "Not a valid rule value")
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
            problem(
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
            problem(
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
                problem(
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
            problem(
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
        self.problems.append(problem(path, code, id, en, **params))
        return Const(None), ERROR
