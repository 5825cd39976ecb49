"""The import reader: a CSV or NDJSON file streamed into raw batches of families, and a batch
validated into `FamilyRecord`s with the API's own `HouseholdCreate` model, every problem
mapped back to its row and column in the file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from operator import itemgetter
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from selaras_registry.imports import cells as parse
from selaras_registry.imports import layout
from selaras_registry.imports.csvfile import MAX_LINE, count_lines, csv_batches, ndjson_batches
from selaras_registry.imports.records import FamilyRecord, ImportOptions, RawBatch, RowIssue
from selaras_registry.schemas import HouseholdCreate

__all__ = ["count_rows", "raw_batches", "validate_batch"]


def raw_batches(
    path: Path, options: ImportOptions, *, families_per_batch: int = 2000
) -> Iterator[RawBatch]:
    """Stream `path` as batches of families; raises `FileProblem` for a file-level problem,
    possibly after some batches were yielded (bad bytes or a broken quote near the end)."""
    if options.format == "ndjson":
        return ndjson_batches(path, options, families_per_batch)
    return csv_batches(path, options, families_per_batch)


def count_rows(path: Path, options: ImportOptions) -> int:
    """Data rows in the file, by a byte scan of its newlines: exact unless quoted cells hold
    newlines (then an over-estimate), blank lines included as `RawBatch.rows_done` counts."""
    lines = count_lines(path)
    return lines if options.format == "ndjson" else max(lines - 1, 0)


def validate_batch(batch: RawBatch) -> list[FamilyRecord]:
    """Validate each family of `batch` (pure; run in worker processes by the import runner)."""
    if batch.format == "ndjson":
        return [_ndjson_family(*family[0]) for family in batch.families]
    plan = _plan(batch.columns)
    return [_csv_family(family, plan) for family in batch.families]


# --- CSV ------------------------------------------------------------------------------

_PATHS: dict[str, tuple[str, ...]] = {
    "housing_floor": ("housing", "floor"),
    "housing_wall": ("housing", "wall"),
    "housing_roof": ("housing", "roof"),
    "housing_toilet": ("housing", "toilet"),
    "housing_water": ("housing", "water"),
    "housing_electricity_va": ("housing", "electricity_va"),
    "housing_land_ownership": ("housing", "land_ownership"),
    "household_ppks": ("ppks",),
    "disability_type": ("disability", "type"),
    "disability_severity": ("disability", "severity"),
    "member_ppks": ("ppks",),
}
_HOUSEHOLD_COLUMN: dict[tuple[int | str, ...], str] = {
    path: name for name, path in _PATHS.items() if name[:1] == "h"
}
_MEMBER_COLUMN: dict[tuple[int | str, ...], str] = {
    path: name for name, path in _PATHS.items() if name[:1] in "dm"
}
_MEMBER_COLUMN[("disability",)] = "disability_type"

_CONVERT: dict[str, Callable[[str], Any]] = {
    "code": parse.code,
    "date": parse.parse_date,
    "bool": parse.yes_no,
    "sex": parse.sex,
    "list": parse.codes,
}

# (column, position in the row, converter or None for as-is, key or (key, subkey))
_Cell = tuple[str, int, Callable[[str], Any] | None, tuple[str, ...]]


@dataclass(frozen=True)
class _Plan:
    """How to turn rows with these columns into a `HouseholdCreate` document."""

    width: int
    index: dict[str, int]
    household: tuple[_Cell, ...]
    member: tuple[_Cell, ...]
    household_values: Callable[[list[str]], Any]
    nik: int
    kk: int


def _convert(column: layout.Column) -> Callable[[str], Any] | None:
    if column.kind == "id":
        prefix = "kk" if column.name == "kk_number" else "nik"
        return lambda value: parse.identifier(value, prefix)
    return _CONVERT.get(column.kind)


@cache
def _plan(columns: tuple[str, ...]) -> _Plan:
    index = {name: i for i, name in enumerate(columns) if name}
    cells: dict[str, list[_Cell]] = {"household": [], "member": []}
    for name, i in index.items():
        column = layout.BY_NAME[name]
        cells[column.level].append((name, i, _convert(column), _PATHS.get(name, (name,))))
    household = [i for name, i in index.items() if name in layout.HOUSEHOLD_COLUMNS]
    return _Plan(
        width=len(columns),
        index=index,
        household=tuple(cells["household"]),
        member=tuple(cells["member"]),
        # itemgetter of one position returns a bare value, of more a tuple: both compare.
        household_values=itemgetter(*household),
        nik=index["nik"],
        kk=index["kk_number"],
    )


class _Family:
    """Issues of one family being validated, at most one per (row, column)."""

    def __init__(self) -> None:
        self.issues: list[RowIssue] = []
        self.seen: set[tuple[int, str]] = set()
        self.failed = False

    def add(self, row: int, field: str, value: str | None, error: parse.CellError) -> None:
        self.report(RowIssue(row, field, value, error.code, error.message))

    def report(self, issue: RowIssue) -> None:
        key = (issue.row, issue.field)
        if key in self.seen:
            return  # the cell's own message already says what is wrong
        self.seen.add(key)
        self.issues.append(issue)
        self.failed = self.failed or not issue.warning


def _document(row: int, cells: list[str], spec: tuple[_Cell, ...], family: _Family) -> Any:
    doc: dict[str, Any] = {}
    for name, i, convert, path in spec:
        value = cells[i]
        if not value:
            continue  # an empty cell is an absent value
        if convert is not None:
            try:
                value = convert(value)
            except parse.CellError as error:
                family.add(row, name, cells[i], error)
        if len(path) == 1:
            doc[path[0]] = value
        else:
            doc.setdefault(path[0], {})[path[1]] = value
    disability = doc.get("disability")
    if disability is not None and "type" not in disability:
        family.add(
            row,
            "disability_severity",
            disability["severity"],
            parse.CellError("disability_severity", parse.text("disability_severity")),
        )
        del doc["disability"]
    return doc


def _rows(
    rows: list[tuple[int, list[str]]], plan: _Plan, family: _Family
) -> tuple[int, list[str] | None, list[tuple[int, list[str]]]]:
    """The family's reference row (household columns) and its member rows, checking that
    household columns agree and that a NIK appears once (an exact repeat is skipped)."""
    reference: list[str] | None = None
    first = 0
    members: list[tuple[int, list[str]]] = []
    by_nik: dict[str, tuple[int, list[str]]] = {}
    width = plan.width
    for row, raw in rows:
        if len(raw) != width:
            if len(raw) > width and not "".join(raw[width:]).strip():
                raw = raw[:width]  # Excel's trailing empty cells
            else:
                error = parse.CellError(
                    "column_count", parse.text("column_count", found=len(raw), expected=width)
                )
                family.add(row, "", None, error)
                continue
        cells = [cell.strip() for cell in raw]
        if reference is None:
            reference, first = cells, row
        elif plan.household_values(cells) != plan.household_values(reference):
            for name, i, _, _ in plan.household:
                if cells[i] != reference[i]:
                    message = parse.text(
                        "household_mismatch", column=name, row=first, expected=reference[i]
                    )
                    family.report(RowIssue(row, name, cells[i], "household_mismatch", message))
        nik = cells[plan.nik].lstrip("'")
        earlier = by_nik.get(nik) if nik else None
        if earlier is None:
            by_nik[nik] = (row, cells)
            members.append((row, cells))
        elif earlier[1] == cells:
            message = parse.text("duplicate_row", row=earlier[0])
            family.report(RowIssue(row, "", None, "duplicate_row", message, warning=True))
        else:
            message = parse.text("nik_duplicate_in_family", nik=nik, row=earlier[0])
            family.report(RowIssue(row, "nik", nik, "nik_duplicate_in_family", message))
    return first, reference, members


def _csv_family(rows: list[tuple[int, list[str]]], plan: _Plan) -> FamilyRecord:
    family = _Family()
    first, reference, members = _rows(rows, plan, family)
    record = FamilyRecord(rows[0][0], rows[-1][0], None, None, family.issues)
    if reference is None:
        return record
    doc = _document(first, reference, plan.household, family)
    kk = doc.get("kk_number")
    record.kk_number = kk if isinstance(kk, str) and kk.isdigit() else reference[plan.kk] or None
    doc["members"] = [_document(row, cells, plan.member, family) for row, cells in members]
    try:
        household = HouseholdCreate.model_validate(doc)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            row, cells, field = _locate(error["loc"], error["type"], members, first, reference)
            column = plan.index.get(field)
            value = cells[column] if column is not None else None
            message = parse.pydantic_text(error["type"], error["msg"], error.get("ctx"))
            family.report(RowIssue(row, field, value, error["type"], message))
        return record
    if not family.failed:
        record.household = household
    return record


def _locate(
    loc: tuple[int | str, ...],
    error_type: str,
    members: list[tuple[int, list[str]]],
    first: int,
    reference: list[str],
) -> tuple[int, list[str], str]:
    """The row, its cells and the column that a pydantic error location points at."""
    if loc[:1] != ("members",):
        column = _HOUSEHOLD_COLUMN.get(loc[:2]) or _HOUSEHOLD_COLUMN.get(loc[:1])
        return first, reference, column or str(loc[0])
    if len(loc) == 1 or not isinstance(loc[1], int):
        # The members list as a whole: its head count, its length, a repeated NIK.
        field = {"head_count": "relationship", "nik_duplicate_in_request": "nik"}
        return first, reference, field.get(error_type, "kk_number")
    row, cells = members[loc[1]]
    rest = loc[2:]
    if not rest:
        return row, cells, "pregnant" if error_type == "pregnant_male" else "nik"
    return row, cells, _MEMBER_COLUMN.get(rest[:2]) or _MEMBER_COLUMN.get(rest[:1]) or str(rest[0])


# --- NDJSON ---------------------------------------------------------------------------


def _shown(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, dict | list):
        return None
    return orjson.dumps(value).decode()


def _ndjson_family(row: int, cells: list[str]) -> FamilyRecord:
    record = FamilyRecord(row, row, None, None, [])
    if len(cells) > 1:  # marked by the reader: the line was cut at its limit
        message = parse.text("line_too_long", limit=MAX_LINE)
        record.issues.append(RowIssue(row, "", cells[0][:200], "line_too_long", message))
        return record
    try:
        data = orjson.loads(cells[0])
    except orjson.JSONDecodeError as bad:
        message = parse.text("json_invalid", error=str(bad))
        record.issues.append(RowIssue(row, "", cells[0][:200], "json_invalid", message))
        return record
    if isinstance(data, dict) and isinstance(data.get("kk_number"), str):
        record.kk_number = data["kk_number"]
    try:
        record.household = HouseholdCreate.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            field = ".".join(str(part) for part in error["loc"])
            message = parse.pydantic_text(error["type"], error["msg"], error.get("ctx"))
            record.issues.append(
                RowIssue(row, field, _shown(error.get("input")), error["type"], message)
            )
    return record
