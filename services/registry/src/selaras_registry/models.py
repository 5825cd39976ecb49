"""Registry tables: households, members, search tags, versions (history and change feed),
access log, import jobs and their row issues, idempotent request records."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    FetchedValue,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from selaras_shared.db import JSONVariant, UTCDateTime, code_string, utcnow


class Household(SQLModel, table=True):
    """A family (one family card, *Kartu Keluarga*); never deleted, only deactivated."""

    __tablename__ = "household"
    __table_args__ = (Index("ix_household_village_id", "village_code", "id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kk_number: str = Field(sa_type=code_string(16), index=True)
    address: str = Field(max_length=200)
    rt: str | None = Field(default=None, max_length=3)
    rw: str | None = Field(default=None, max_length=3)
    village_code: str = Field(sa_type=code_string(10))
    desil: int | None = Field(default=None, index=True)
    registry_status: str = Field(max_length=20)
    housing: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONVariant, nullable=False)
    )
    monthly_income: int | None = None
    programs_received: list[str] = Field(
        default_factory=list, sa_column=Column(JSONVariant, nullable=False)
    )
    ppks: list[str] = Field(default_factory=list, sa_column=Column(JSONVariant, nullable=False))
    data_source: str = Field(max_length=50)
    verified_on: date | None = None
    status: str = Field(default="active", max_length=10)
    deactivation_reason: str | None = Field(default=None, max_length=20)
    deactivation_note: str | None = Field(default=None, max_length=500)
    deactivated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Member(SQLModel, table=True):
    """A person on a family card; an active NIK is unique across the registry."""

    __tablename__ = "member"
    __table_args__ = (
        Index(
            "uq_member_active_nik",
            "nik",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_member_nik", "nik"),
        Index("ix_member_name_key", "name_key"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    household_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("household.id"), nullable=False, index=True)
    )
    nik: str = Field(sa_type=code_string(16))
    name: str = Field(max_length=200)
    # Case- and accent-folded name, for prefix search.
    name_key: str = Field(sa_type=code_string(200))
    sex: str = Field(max_length=6)
    birth_date: date
    relationship: str = Field(max_length=20)
    marital_status: str | None = Field(default=None, max_length=20)
    education: str | None = Field(default=None, max_length=20)
    in_school: bool | None = None
    occupation: str | None = Field(default=None, max_length=100)
    disability_type: str | None = Field(default=None, max_length=20)
    disability_severity: str | None = Field(default=None, max_length=10)
    chronic_illness: str | None = Field(default=None, max_length=100)
    pregnant: bool = False
    ppks: list[str] = Field(default_factory=list, sa_column=Column(JSONVariant, nullable=False))
    position: int = Field(default=0, description="order on the family card")
    status: str = Field(default="active", max_length=10)
    deactivation_reason: str | None = Field(default=None, max_length=20)
    deactivation_note: str | None = Field(default=None, max_length=500)
    deactivated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class HouseholdTag(SQLModel, table=True):
    """Search index of a household's PPKS categories (household and member level) and
    programmes received, as `ppks:<code>` / `program:<code>`; rewritten on every change."""

    __tablename__ = "household_tag"
    __table_args__ = (Index("ix_household_tag_tag", "tag", "household_id"),)

    household_id: uuid.UUID = Field(sa_column=Column(ForeignKey("household.id"), primary_key=True))
    tag: str = Field(sa_column=Column(String(60), primary_key=True))


class HouseholdVersion(SQLModel, table=True):
    """One version of a household: the full document after the change and the diff.

    The versions are also the change feed. Its order is (`txid`, `id`): `txid` is the
    writing transaction's id on PostgreSQL (`pg_current_xact_id()`, filled in by the
    database) and 0 on SQLite, where writers are serialised so that `id` alone is in
    commit order. See `repository.changes` for why that order misses nothing.
    """

    __tablename__ = "household_version"
    __table_args__ = (
        UniqueConstraint("household_id", "version", name="uq_household_version"),
        Index("ix_household_version_feed", "txid", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    txid: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, server_default=FetchedValue(), nullable=False),
    )
    household_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("household.id"), nullable=False, index=True)
    )
    version: int
    # Where the household is after the change, and where it was when the change moved it,
    # so that a region's feed also shows households leaving it.
    village_code: str = Field(sa_type=code_string(10))
    previous_village_code: str | None = Field(default=None, sa_type=code_string(10))
    changed_at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=200)
    actor_role: str = Field(max_length=20)
    actor_organization: str | None = Field(default=None, max_length=100)
    source: str = Field(max_length=50)
    change: str = Field(max_length=30)
    reason: str | None = Field(default=None, max_length=20)
    # Plain JSON (text) rather than JSONB on PostgreSQL: versions are written in bulk and
    # read whole, never queried inside, and JSON is several times cheaper to take in.
    changes: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class AccessLog(SQLModel, table=True):
    """Append-only record of every read of personal data (UU 27/2022)."""

    __tablename__ = "access_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    subject: str = Field(max_length=200, index=True)
    role: str = Field(max_length=20)
    organization: str | None = Field(default=None, max_length=100)
    # One household, or for bulk reads (snapshot exports) the region read, with a count.
    household_id: uuid.UUID | None = Field(default=None, index=True)
    region: str | None = Field(default=None, sa_type=code_string(10))
    records: int | None = None
    action: str = Field(max_length=20)
    purpose: str | None = Field(default=None, max_length=200)
    request_id: str | None = Field(default=None, max_length=128)


class ImportJob(SQLModel, table=True):
    """A bulk import of households from an uploaded CSV or NDJSON file, and its progress.

    The file is kept in the import spool until the job ends, so that a job interrupted by a
    restart is picked up again; importing is idempotent (households are matched on their
    KK number), so starting over from the first row is safe.
    """

    __tablename__ = "import_job"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    status: str = Field(default="queued", max_length=12, index=True)
    mode: str = Field(max_length=16)
    format: str = Field(max_length=8)
    filename: str | None = Field(default=None, max_length=200)
    content_sha256: str = Field(sa_type=code_string(64))
    size_bytes: int = Field(sa_type=BigInteger)
    options: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONVariant, nullable=False)
    )
    rows_total: int | None = None
    rows_done: int = 0
    households_created: int = 0
    households_updated: int = 0
    households_unchanged: int = 0
    households_rejected: int = 0
    error_count: int = 0
    warning_count: int = 0
    # Bytes of the file read so far (progress of a file whose row count is an estimate).
    bytes_done: int = Field(default=0, sa_type=BigInteger)
    # A problem with the file as a whole (encoding, missing columns): code and messages.
    failure: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONVariant))
    submitted_by: str = Field(max_length=200)
    submitted_role: str = Field(max_length=20)
    submitted_organization: str | None = Field(default=None, max_length=100)
    jurisdiction: str = Field(default="", sa_type=code_string(10))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Refreshed while a worker runs the job; a stale heartbeat means the worker died.
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ImportIssue(SQLModel, table=True):
    """One problem found in one row of an import file (the per-row error report)."""

    __tablename__ = "import_issue"
    __table_args__ = (Index("ix_import_issue_job_row", "job_id", "row"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: uuid.UUID = Field(sa_column=Column(ForeignKey("import_job.id"), nullable=False))
    row: int = Field(description="row number in the file; the header is row 1 in a CSV")
    kk_number: str | None = Field(default=None, max_length=40)
    field: str = Field(max_length=100)
    value: str | None = Field(default=None, max_length=200)
    code: str = Field(max_length=50)
    # `error` rejects the family; `warning` is reported only (an exact duplicate row skipped).
    severity: str = Field(default="error", max_length=8)
    message_id: str = Field(max_length=500)
    message_en: str = Field(max_length=500)


class IdempotencyRecord(SQLModel, table=True):
    """The stored answer to a write sent with an `Idempotency-Key`, replayed on retry."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("scope", "subject", "key", name="uq_idempotency_key"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=30, description="which endpoint, e.g. `sync`")
    subject: str = Field(max_length=200, description="the principal that sent the key")
    key: str = Field(max_length=200)
    request_sha256: str = Field(sa_type=code_string(64))
    status_code: int
    response: dict[str, Any] = Field(sa_column=Column(JSONVariant, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
