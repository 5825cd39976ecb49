"""Domain operations: fields (`var`), age at the evaluation date, dated parameters."""

from __future__ import annotations

from datetime import date
from typing import Any

from selaras_eligibility.rules import limits
from selaras_eligibility.rules.compiler.base import CompilerBase
from selaras_eligibility.rules.compiler.problems import CODES, ERROR, NUMBER, Scope, Typed, problem
from selaras_eligibility.rules.fields import HOUSEHOLD_FIELDS, MEMBER_FIELDS, MEMBERS, ValueType
from selaras_eligibility.rules.nodes import Const, Param, Value, Var


class DomainOperations(CompilerBase):
    """Compiles field reads, `age` and parameter references; checks parameters."""

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

    def _check_parameters(self) -> None:
        for name, dated in self.document.parameters.items():
            path = f"parameters.{name}"
            if not dated:
                self.problems.append(
                    problem(path, "parameter_empty", "Parameter tanpa nilai", "No values given")
                )
                continue
            if len(dated) > limits.MAX_PARAMETER_VALUES:
                self.problems.append(
                    problem(
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
                    problem(
                        path,
                        "parameter_type",
                        "Nilai parameter harus bertipe sama (ada: {types})",
                        "A parameter's values must have one type (found: {types})",
                        types=", ".join(sorted(types)),
                    )
                )
            if values and values[0][0] > self.document.effective_from:
                self.problems.append(
                    problem(
                        path,
                        "parameter_gap",
                        "Parameter tidak punya nilai pada {date} (awal berlaku aturan)",
                        "The parameter has no value on {date} (when the rules take effect)",
                        date=self.document.effective_from.isoformat(),
                    )
                )
            self.parameter_values[name] = tuple(values)
            self.parameter_types[name] = types.pop() if len(types) == 1 else ERROR
