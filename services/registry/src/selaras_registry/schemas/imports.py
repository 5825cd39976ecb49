"""Import job and import report models."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class ImportMode(StrEnum):
    """How an import writes: check only, everything or nothing, or the valid families."""

    dry_run = "dry_run"
    all_or_nothing = "all_or_nothing"
    valid_only = "valid_only"


class ImportFormat(StrEnum):
    """File formats an import reads."""

    csv = "csv"
    ndjson = "ndjson"


class ImportEncoding(StrEnum):
    """Text encodings an import reads (UTF-8, or Excel's Western European ones)."""

    utf_8 = "utf-8"
    windows_1252 = "windows-1252"
    iso_8859_1 = "iso-8859-1"


class ImportFailure(BaseModel):
    """A problem with the file as a whole (encoding, columns, separator, quoting)."""

    code: str
    message: str
    row: int | None = None


class ImportLinks(BaseModel):
    """Where to follow a job and download its report."""

    self: str
    errors: str
    errors_csv: str


class ImportJobRead(BaseModel):
    """An import job and its progress; counts are live while it runs."""

    id: uuid.UUID
    status: str = Field(description="queued, running, succeeded or failed")
    mode: ImportMode
    format: ImportFormat
    filename: str | None = None
    size_bytes: int
    content_sha256: str
    encoding: str
    delimiter: str | None = None
    rows_total: int | None = Field(
        default=None,
        description="data rows in the file (an estimate if quoted cells hold newlines)",
    )
    rows_done: int
    bytes_done: int
    households_created: int
    households_updated: int
    households_unchanged: int
    households_rejected: int
    error_count: int
    warning_count: int
    failure: ImportFailure | None = None
    submitted_by: str
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    links: ImportLinks


class ImportIssueRead(BaseModel):
    """One line of an import's per-row report."""

    row: int
    kk_number: str | None = None
    field: str
    value: str | None = None
    code: str
    severity: str
    message: str
