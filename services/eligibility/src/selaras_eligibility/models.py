"""Eligibility tables: organisations, programmes with their areas, and rule-set versions.

The tables live on their own metadata: the registry's models share the process in tests and
tools, and each service's migrations must describe only its own database.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, MetaData, String, UniqueConstraint
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
