"""organisations, programmes, rule sets

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from selaras_shared.db import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organization",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "code",
            sa.String(length=50).with_variant(sa.String(length=50, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column(
            "region",
            sa.String(length=10).with_variant(sa.String(length=10, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "program",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "code",
            sa.String(length=32).with_variant(sa.String(length=32, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("name_id", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("source_level", sa.String(length=10), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column(
            "benefit",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("legal_basis", sa.String(length=500), nullable=True),
        sa.Column("quota", sa.Integer(), nullable=True),
        sa.Column(
            "ranking",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "excludes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("requires_manager_approval", sa.Boolean(), nullable=False),
        sa.Column("active_from", sa.Date(), nullable=False),
        sa.Column("active_to", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["organization.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_program_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_program_source_level"), ["source_level"], unique=False)

    op.create_table(
        "program_area",
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column(
            "prefix",
            sa.String(length=10).with_variant(sa.String(length=10, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["program_id"], ["program.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("program_id", "prefix"),
    )
    with op.batch_alter_table("program_area", schema=None) as batch_op:
        batch_op.create_index("ix_program_area_prefix", ["prefix", "program_id"], unique=False)

    op.create_table(
        "rule_set",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=True),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("retired_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["program.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("program_id", "version", name="uq_rule_set_version"),
    )
    with op.batch_alter_table("rule_set", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rule_set_content_sha256"), ["content_sha256"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_rule_set_program_id"), ["program_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rule_set", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rule_set_program_id"))
        batch_op.drop_index(batch_op.f("ix_rule_set_content_sha256"))

    op.drop_table("rule_set")
    with op.batch_alter_table("program_area", schema=None) as batch_op:
        batch_op.drop_index("ix_program_area_prefix")

    op.drop_table("program_area")
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_program_source_level"))
        batch_op.drop_index(batch_op.f("ix_program_owner_id"))

    op.drop_table("program")
    op.drop_table("organization")
