"""Eligibility tables: organisations, programmes with their areas, and rule-set versions.

The tables live on their own metadata: the registry's models share the process in tests and
tools, and each service's migrations must describe only its own database.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from selaras_shared.db import JSONVariant, UTCDateTime, code_string, utcnow

metadata = MetaData()


class EligibilityModel(SQLModel, registry=registry(metadata=metadata)):
    """Base of the eligibility tables (own metadata, see the module docstring)."""


class Organization(EligibilityModel, table=True):
    """A provider of programmes: ministry, regional office, village, BAZNAS, CSR, NGO..."""

    __tablename__ = "organization"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    code: str = Field(sa_type=code_string(50), unique=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=20)
    region: str = Field(sa_type=code_string(10))
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Program(EligibilityModel, table=True):
    """A programme (*program bantuan*) with its benefit, area, quota and exclusions."""

    __tablename__ = "program"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    code: str = Field(sa_type=code_string(32), unique=True)
    name_id: str = Field(max_length=200)
    name_en: str = Field(max_length=200)
    source_level: str = Field(max_length=10, index=True)
    owner_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("organization.id"), nullable=False, index=True)
    )
    unit: str = Field(max_length=10)
    benefit: dict[str, Any] = Field(sa_column=Column(JSONVariant, nullable=False))
    legal_basis: str | None = Field(default=None, max_length=500)
    quota: int | None = None
    ranking: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONVariant, nullable=False)
    )
    excludes: list[str] = Field(default_factory=list, sa_column=Column(JSONVariant, nullable=False))
    requires_manager_approval: bool = False
    active_from: date
    active_to: date | None = None
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ProgramArea(EligibilityModel, table=True):
    """One region prefix a programme covers ("" is national); a row each so that "which
    programmes cover village X" is an indexed `prefix IN (ancestors of X)`."""

    __tablename__ = "program_area"
    __table_args__ = (Index("ix_program_area_prefix", "prefix", "program_id"),)

    program_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("program.id", ondelete="CASCADE"), primary_key=True)
    )
    prefix: str = Field(sa_column=Column(code_string(10), primary_key=True))


class RuleSet(EligibilityModel, table=True):
    """One version of a programme's rule-set document: draft, then published, then retired."""

    __tablename__ = "rule_set"
    __table_args__ = (UniqueConstraint("program_id", "version", name="uq_rule_set_version"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    program_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("program.id"), nullable=False, index=True)
    )
    version: int
    status: str = Field(default="draft", max_length=10)
    effective_from: date
    effective_to: date | None = None
    document: dict[str, Any] = Field(sa_column=Column(JSONVariant, nullable=False))
    content_sha256: str = Field(sa_type=String(64), index=True)
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    published_by: str | None = Field(default=None, max_length=200)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ScreeningSeries(EligibilityModel, table=True):
    """Successive screenings of one region for one set of programmes, seen with one level of
    rights (masked or not): their results are stored as changes from run to run."""

    __tablename__ = "screening_series"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    #: region, rights and programmes, hashed: the identity of the series.
    key: str = Field(sa_type=String(64), unique=True)
    region: str = Field(sa_type=code_string(10))
    masked: bool
    programs: list[str] = Field(sa_column=Column(JSONVariant, nullable=False))
    #: The sequence number of the last screening whose results were stored (0: none yet).
    last_seq: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Screening(EligibilityModel, table=True):
    """A batch screening job over a region: its inputs, progress, outcome and counts."""

    __tablename__ = "screening"
    __table_args__ = (Index("ix_screening_region_created", "region", "created_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    series_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("screening_series.id"), nullable=False, index=True)
    )
    #: The screening's number in its series, set when its results are stored.
    seq: int | None = None
    region: str = Field(sa_type=code_string(10))
    on: date
    status: str = Field(default="queued", max_length=10)
    #: Programmes with the rule set each is screened with (id, version, content hash).
    rule_sets: list[dict[str, Any]] = Field(sa_column=Column(JSONVariant, nullable=False))
    #: Programmes asked for but not screened (no rule set in force), with the reason.
    skipped: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONVariant, nullable=False)
    )
    masked: bool
    created_by: str = Field(max_length=200)
    created_role: str = Field(max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: "full" (a whole snapshot) or "changes" (the previous state and the change feed).
    mode: str | None = Field(default=None, max_length=10)
    #: The change-feed cursor the results correspond to (the snapshot's, or the feed's).
    cursor: str | None = Field(default=None, max_length=500)
    #: Which step the job is at, and how many households it has so far.
    phase: str | None = Field(default=None, max_length=20)
    households: int | None = None
    households_changed: int | None = None
    rows_written: int | None = None
    counts: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONVariant, nullable=False)
    )
    timings: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONVariant, nullable=False)
    )
    #: Why the job failed: a problem code and its detail in both languages.
    error: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONVariant))


class ScreeningRow(EligibilityModel, table=True):
    """One household's outcome for every programme of a series, valid from one screening
    of the series until (not including) a later one: a re-run writes only what changed."""

    __tablename__ = "screening_row"
    __table_args__ = (PrimaryKeyConstraint("series_id", "household_id", "valid_from"),)

    # No foreign key to the series (migration 0003): a full run writes a row per household,
    # and rows are written only for the series whose `last_seq` the same transaction
    # advanced (which locks it).
    series_id: uuid.UUID = Field(sa_column=Column(Uuid(), nullable=False))
    household_id: uuid.UUID
    valid_from: int = Field(sa_column=Column(Integer, nullable=False))
    valid_to: int | None = None
    village_code: str = Field(sa_type=code_string(10))
    #: One letter per programme of the series, in its order (see `screening.outcomes`).
    outcomes: str = Field(max_length=200)
