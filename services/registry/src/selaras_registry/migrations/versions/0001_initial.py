"""households, members, history, access log

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
        "access_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("organization", sa.String(length=100), nullable=True),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_log_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_access_log_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_access_log_subject"), ["subject"], unique=False)

    op.create_table(
        "household",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "kk_number",
            sa.String(length=16).with_variant(sa.String(length=16, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("rt", sa.String(length=3), nullable=True),
        sa.Column("rw", sa.String(length=3), nullable=True),
        sa.Column(
            "village_code",
            sa.String(length=10).with_variant(sa.String(length=10, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("desil", sa.Integer(), nullable=True),
        sa.Column("registry_status", sa.String(length=20), nullable=False),
        sa.Column(
            "housing",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("monthly_income", sa.Integer(), nullable=True),
        sa.Column(
            "programs_received",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "ppks",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("data_source", sa.String(length=50), nullable=False),
        sa.Column("verified_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("deactivation_reason", sa.String(length=20), nullable=True),
        sa.Column("deactivation_note", sa.String(length=500), nullable=True),
        sa.Column("deactivated_at", UTCDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_household_desil"), ["desil"], unique=False)
        batch_op.create_index(batch_op.f("ix_household_kk_number"), ["kk_number"], unique=False)
        batch_op.create_index("ix_household_village_id", ["village_code", "id"], unique=False)

    op.create_table(
        "household_tag",
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("tag", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
        ),
        sa.PrimaryKeyConstraint("household_id", "tag"),
    )
    with op.batch_alter_table("household_tag", schema=None) as batch_op:
        batch_op.create_index("ix_household_tag_tag", ["tag", "household_id"], unique=False)

    op.create_table(
        "household_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("actor_organization", sa.String(length=100), nullable=True),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("change", sa.String(length=30), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=True),
        sa.Column(
            "changes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("household_id", "version", name="uq_household_version"),
    )
    with op.batch_alter_table("household_version", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_household_version_household_id"), ["household_id"], unique=False
        )

    op.create_table(
        "member",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column(
            "nik",
            sa.String(length=16).with_variant(sa.String(length=16, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "name_key",
            sa.String(length=200).with_variant(sa.String(length=200, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("sex", sa.String(length=6), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("relationship", sa.String(length=20), nullable=False),
        sa.Column("marital_status", sa.String(length=20), nullable=True),
        sa.Column("education", sa.String(length=20), nullable=True),
        sa.Column("in_school", sa.Boolean(), nullable=True),
        sa.Column("occupation", sa.String(length=100), nullable=True),
        sa.Column("disability_type", sa.String(length=20), nullable=True),
        sa.Column("disability_severity", sa.String(length=10), nullable=True),
        sa.Column("chronic_illness", sa.String(length=100), nullable=True),
        sa.Column("pregnant", sa.Boolean(), nullable=False),
        sa.Column(
            "ppks",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("deactivation_reason", sa.String(length=20), nullable=True),
        sa.Column("deactivation_note", sa.String(length=500), nullable=True),
        sa.Column("deactivated_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_household_id"), ["household_id"], unique=False)
        batch_op.create_index("ix_member_name_key", ["name_key"], unique=False)
        batch_op.create_index("ix_member_nik", ["nik"], unique=False)
        batch_op.create_index(
            "uq_member_active_nik",
            ["nik"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )


def downgrade() -> None:

    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_member_active_nik",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )
        batch_op.drop_index("ix_member_nik")
        batch_op.drop_index("ix_member_name_key")
        batch_op.drop_index(batch_op.f("ix_member_household_id"))

    op.drop_table("member")
    with op.batch_alter_table("household_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_version_household_id"))

    op.drop_table("household_version")
    with op.batch_alter_table("household_tag", schema=None) as batch_op:
        batch_op.drop_index("ix_household_tag_tag")

    op.drop_table("household_tag")
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_index("ix_household_village_id")
        batch_op.drop_index(batch_op.f("ix_household_kk_number"))
        batch_op.drop_index(batch_op.f("ix_household_desil"))

    op.drop_table("household")
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_log_subject"))
        batch_op.drop_index(batch_op.f("ix_access_log_household_id"))
        batch_op.drop_index(batch_op.f("ix_access_log_at"))

    op.drop_table("access_log")
