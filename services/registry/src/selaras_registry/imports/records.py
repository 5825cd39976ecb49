"""What the import reader hands to the import runner: families read from a file, with the
problems found in their rows. Plain dataclasses, so that batches cross process boundaries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from selaras_registry.schemas import HouseholdCreate
from selaras_shared.i18n import Text

Format = Literal["csv", "ndjson"]
Mode = Literal["dry_run", "all_or_nothing", "valid_only"]


@dataclass(frozen=True)
class ImportOptions:
    """How to read an uploaded file; `delimiter` None means detect comma or semicolon."""

    format: Format
    encoding: str = "utf-8"
    delimiter: str | None = None


@dataclass(frozen=True)
class RowIssue:
    """One problem in one row: row number in the file (a CSV header is row 1; an NDJSON line
    is its line number), the column or field path, the offending value, a stable code."""

    row: int
    field: str
    value: str | None
    code: str
    message: Text
    #: A warning is reported but does not stop the family (an exact duplicate row skipped).
    warning: bool = False


@dataclass
class FamilyRecord:
    """One family (one KK number) read from consecutive rows; `household` is None when the
    rows do not make a valid household, and `issues` then says why."""

    first_row: int
    last_row: int
    kk_number: str | None
    household: HouseholdCreate | None
    issues: list[RowIssue] = field(default_factory=list)


@dataclass
class RawBatch:
    """Consecutive families as read from the file, not yet validated (cheap to produce).

    Each family is its list of (row number, cells); for CSV the cells are the row's raw
    strings in the order of `columns` (canonical names, "" for an ignored blank header), for
    NDJSON a family is one line and its only cell is the line's text. Rows are lists rather
    than dicts so that reading and pickling to worker processes stay cheap.
    """

    families: list[list[tuple[int, list[str]]]]
    #: Bytes of the file consumed up to the end of this batch (for progress).
    bytes_done: int
    format: Format = "csv"
    columns: tuple[str, ...] = ()
    #: Data rows (CSV records after the header, or NDJSON lines) consumed up to the end of
    #: this batch, blank ones included: comparable with `count_rows`.
    rows_done: int = 0


class FileProblem(Exception):
    """The file as a whole cannot be read (encoding, missing or unknown columns, separator,
    broken quoting); no row of it is imported. `row` is where it was noticed, if known."""

    def __init__(self, code: str, message: Text, row: int | None = None) -> None:
        super().__init__(message.en)
        self.code = code
        self.message = message
        self.row = row
