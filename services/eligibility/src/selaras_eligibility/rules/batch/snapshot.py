"""The snapshot table decoded once into numpy columns, shared by every rule set on it."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import date

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

from selaras_eligibility.rules.batch.run import Run
from selaras_eligibility.rules.batch.values import (
    FALSE,
    TRUE,
    UNKNOWN,
    Array,
    BatchResult,
    CodeLists,
    Column,
    CriterionColumn,
    Mask,
)
from selaras_eligibility.rules.fields import FieldSpec, ValueType
from selaras_eligibility.rules.nodes import CompiledRuleSet, Node


class Snapshot:
    """Decoded columns of one snapshot table, shared by every rule set evaluated on it."""

    def __init__(self, table: pa.Table | pa.RecordBatch, on: date) -> None:
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        self.table = table
        self.on = on
        self.households = table.num_rows
        self.codes: dict[str | None, int] = {None: 0}
        self.fields: dict[tuple[str, str], Column | CodeLists] = {}
        #: Node columns by what they compute (`Run.key`), shared by the rule sets.
        self.columns: dict[Hashable, Column] = {}
        self.criteria: dict[Hashable, tuple[npt.NDArray[np.int8], dict[str, Mask]]] = {}
        members = self._array("members")
        if members is None:
            self.member_rows = pa.array([], pa.struct([]))
            self.parent: Array = np.zeros(0, dtype=np.int64)
        else:
            people = pc.list_flatten(members)
            parent = pc.list_parent_indices(members)
            if people.null_count:
                # `explain` skips a member that is not an object; so does the batch.
                valid = people.is_valid()
                people, parent = people.filter(valid), parent.filter(valid)
            self.member_rows = people
            self.parent = parent.to_numpy().astype(np.int64)
        self.member_count = np.bincount(self.parent, minlength=self.households)

    # --- columns ----------------------------------------------------------------------

    def _array(self, name: str) -> pa.Array | None:
        if name not in self.table.column_names:
            return None
        return self.table.column(name).combine_chunks()

    def _member_array(self, name: str) -> pa.Array | None:
        if self.member_rows.type.get_field_index(name) < 0:
            return None
        return pc.struct_field(self.member_rows, name)

    def _code_ids(self, strings: pa.Array) -> Array:
        """Code ids of a string array (null as 0), looking each distinct string up once."""
        encoded = strings.dictionary_encode()
        lookup = np.array(
            [0, *(self._code(text) for text in encoded.dictionary.to_pylist())], dtype=np.int64
        )
        positions: Array = pc.fill_null(pc.add(encoded.indices, 1), 0).to_numpy()
        return lookup[positions]

    def _code(self, text: str | None) -> int:
        return self.codes.setdefault(text, len(self.codes))

    def read(self, spec: FieldSpec) -> Column | CodeLists:
        """A field's column at its level (decoded once per snapshot)."""
        key = (spec.scope, spec.name)
        if key not in self.fields:
            self.fields[key] = self._decode(spec)
        return self.fields[key]

    def _decode(self, spec: FieldSpec) -> Column | CodeLists:
        size = self.households if spec.scope == "household" else len(self.parent)
        if spec.name == "member_count":
            return Column(self.member_count.astype(np.float64), np.ones(size, dtype=bool))
        if spec.scope == "household":
            label, raw = spec.name, self._array(spec.name.replace(".", "_"))
        elif spec.name == "age":
            return self._age()
        else:
            label = f"members.{spec.name}"
            raw = self._member_array(spec.name.replace(".", "_"))
        if raw is None:
            raw = pa.nulls(size)
        known: Mask = np.asarray(raw.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        missing = {label: ~known} if spec.null_is_missing else {}
        if not spec.null_is_missing:
            known = np.ones(size, dtype=bool)
        if spec.type == ValueType.codes:
            if pa.types.is_null(raw.type):
                raw = raw.cast(pa.list_(pa.string()))
            flat = pc.list_flatten(raw)
            return CodeLists(
                self._code_ids(flat.cast(pa.string())),
                pc.list_parent_indices(raw).to_numpy().astype(np.int64),
                known,
                missing,
            )
        if spec.type == ValueType.number:
            values = pc.fill_null(raw.cast(pa.float64(), safe=False), 0.0).to_numpy()
        elif spec.type == ValueType.boolean:
            values = pc.fill_null(raw.cast(pa.bool_()), False).to_numpy(zero_copy_only=False)
        else:
            values = self._code_ids(raw.cast(pa.string()))
        return Column(np.asarray(values), known, missing)

    def _age(self) -> Column:
        raw = self._member_array("birth_date")
        size = len(self.parent)
        if raw is None:
            raw = pa.nulls(size, pa.date32())
        known: Mask = np.asarray(raw.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        born = raw.cast(pa.date32())
        year, month, day = (
            pc.fill_null(part(born), 0).to_numpy().astype(np.int64)
            for part in (pc.year, pc.month, pc.day)
        )
        on = self.on
        before_birthday = (month > on.month) | ((month == on.month) & (day > on.day))
        age = (on.year - year - before_birthday).astype(np.float64)
        return Column(age, known, {"members.birth_date": ~known})

    # --- rule sets --------------------------------------------------------------------

    def _criterion(self, run: Run, rule: Node) -> tuple[npt.NDArray[np.int8], dict[str, Mask]]:
        """A criterion's status per household and the missing fields behind its unknowns
        (shared by the rule sets whose criterion computes the same thing)."""
        key = run.key(rule)
        found = self.criteria.get(key)
        if found is None:
            result = run.column(rule, self.households)
            status = np.where(result.known, np.where(result.values, TRUE, FALSE), UNKNOWN)
            missing = {
                name: mask & ~result.known for name, mask in result.missing.items() if mask.any()
            }
            found = self.criteria[key] = (status.astype(np.int8), missing)
        return found

    def evaluate(self, compiled: CompiledRuleSet) -> BatchResult:
        """Every criterion of one rule set, and the rule set's overall status."""
        run = Run(self, compiled)
        columns: list[CriterionColumn] = []
        any_false = np.zeros(self.households, dtype=bool)
        any_unknown = np.zeros(self.households, dtype=bool)
        for criterion in compiled.criteria:
            status, missing = self._criterion(run, criterion.rule)
            any_false |= status == FALSE
            any_unknown |= status == UNKNOWN
            columns.append(CriterionColumn(criterion.id, status, missing))
        overall = np.where(any_false, FALSE, np.where(any_unknown, UNKNOWN, TRUE)).astype(np.int8)
        return BatchResult(
            program=compiled.program,
            evaluated_on=self.on,
            rule_set_hash=compiled.content_hash,
            status=overall,
            criteria=tuple(columns),
        )
