"""screening series, screening jobs and their stored results

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from selaras_shared.db import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _code(length: int) -> sa.types.TypeEngine[Any]:
    return sa.String(length=length).with_variant(
        sa.String(length=length, collation="C"), "postgresql"
    )


def upgrade() -> None:
    op.create_table(
        "screening_series",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("region", _code(10), nullable=False),
        sa.Column("masked", sa.Boolean(), nullable=False),
        sa.Column("programs", _json(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "screening",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("series_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("region", _code(10), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("rule_sets", _json(), nullable=False),
        sa.Column("skipped", _json(), nullable=False),
        sa.Column("masked", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_role", sa.String(length=20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=True),
        sa.Column("mode", sa.String(length=10), nullable=True),
        sa.Column("cursor", sa.String(length=500), nullable=True),
        sa.Column("phase", sa.String(length=20), nullable=True),
        sa.Column("households", sa.Integer(), nullable=True),
        sa.Column("households_changed", sa.Integer(), nullable=True),
        sa.Column("rows_written", sa.Integer(), nullable=True),
        sa.Column("counts", _json(), nullable=False),
        sa.Column("timings", _json(), nullable=False),
        sa.Column("error", _json(), nullable=True),
        sa.ForeignKeyConstraint(["series_id"], ["screening_series.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("screening", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_screening_series_id"), ["series_id"], unique=False)
        batch_op.create_index("ix_screening_region_created", ["region", "created_at"], unique=False)
    op.create_table(
        "screening_row",
        sa.Column("series_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("valid_from", sa.Integer(), nullable=False),
        sa.Column("valid_to", sa.Integer(), nullable=True),
        sa.Column("village_code", _code(10), nullable=False),
        sa.Column("outcomes", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["series_id"], ["screening_series.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("series_id", "household_id", "valid_from"),
    )


def downgrade() -> None:
    op.drop_table("screening_row")
    with op.batch_alter_table("screening", schema=None) as batch_op:
        batch_op.drop_index("ix_screening_region_created")
        batch_op.drop_index(batch_op.f("ix_screening_series_id"))
    op.drop_table("screening")
    op.drop_table("screening_series")
