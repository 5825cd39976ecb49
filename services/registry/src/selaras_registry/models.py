"""Registry tables: households, members, search tags, versions (history), access log."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, String, UniqueConstraint, text
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
    """One version of a household: the full document after the change and the diff."""

    __tablename__ = "household_version"
    __table_args__ = (UniqueConstraint("household_id", "version", name="uq_household_version"),)

    id: int | None = Field(default=None, primary_key=True)
    household_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("household.id"), nullable=False, index=True)
    )
    version: int
    changed_at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=200)
    actor_role: str = Field(max_length=20)
    actor_organization: str | None = Field(default=None, max_length=100)
    source: str = Field(max_length=50)
    change: str = Field(max_length=30)
    reason: str | None = Field(default=None, max_length=20)
    changes: dict[str, Any] = Field(sa_column=Column(JSONVariant, nullable=False))
    document: dict[str, Any] = Field(sa_column=Column(JSONVariant, nullable=False))


class AccessLog(SQLModel, table=True):
    """Append-only record of every read of personal data (UU 27/2022)."""

    __tablename__ = "access_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    subject: str = Field(max_length=200, index=True)
    role: str = Field(max_length=20)
    organization: str | None = Field(default=None, max_length=100)
    household_id: uuid.UUID = Field(index=True)
    action: str = Field(max_length=20)
    purpose: str | None = Field(default=None, max_length=200)
    request_id: str | None = Field(default=None, max_length=128)
