"""change feed order, bulk-read access log, import jobs, idempotency records

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from selaras_shared.db import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=30), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column(
            "request_sha256",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column(
            "response",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope", "subject", "key", name="uq_idempotency_key"),
    )
    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_record_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "import_job",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=True),
        sa.Column(
            "content_sha256",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column(
            "options",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("rows_total", sa.Integer(), nullable=True),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("households_created", sa.Integer(), nullable=False),
        sa.Column("households_updated", sa.Integer(), nullable=False),
        sa.Column("households_unchanged", sa.Integer(), nullable=False),
        sa.Column("households_rejected", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("warning_count", sa.Integer(), nullable=False),
        sa.Column("bytes_done", sa.BigInteger(), nullable=False),
        sa.Column(
            "failure",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("submitted_by", sa.String(length=200), nullable=False),
        sa.Column("submitted_role", sa.String(length=20), nullable=False),
        sa.Column("submitted_organization", sa.String(length=100), nullable=True),
        sa.Column(
            "jurisdiction",
            sa.String(length=10).with_variant(sa.String(length=10, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("import_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_job_status"), ["status"], unique=False)

    op.create_table(
        "import_issue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("kk_number", sa.String(length=40), nullable=True),
        sa.Column("field", sa.String(length=100), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=True),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("message_id", sa.String(length=500), nullable=False),
        sa.Column("message_en", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["import_job.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("import_issue", schema=None) as batch_op:
        batch_op.create_index("ix_import_issue_job_row", ["job_id", "row"], unique=False)

    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "region",
                sa.String(length=10).with_variant(
                    sa.String(length=10, collation="C"), "postgresql"
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("records", sa.Integer(), nullable=True))
        batch_op.alter_column("household_id", existing_type=sa.CHAR(length=32), nullable=True)

    # The change feed's order: the writing transaction's id on PostgreSQL (see
    # models.HouseholdVersion); SQLite serialises writers, so 0 and the row id suffice.
    postgres = op.get_bind().dialect.name == "postgresql"
    txid_default = sa.text("(pg_current_xact_id()::text::bigint)" if postgres else "0")
    code = sa.String(length=10).with_variant(sa.String(length=10, collation="C"), "postgresql")
    with op.batch_alter_table("household_version", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("txid", sa.BigInteger(), server_default=txid_default, nullable=False)
        )
        batch_op.add_column(sa.Column("village_code", code, nullable=True))
        batch_op.add_column(sa.Column("previous_village_code", code, nullable=True))
    village = (
        "document->>'village_code'" if postgres else "json_extract(document, '$.village_code')"
    )
    op.execute(f"UPDATE household_version SET village_code = {village}")
    if postgres:
        # Versions are taken in bulk and read whole: JSON text is cheaper to write than JSONB.
        for column in ("changes", "document"):
            op.execute(
                f"ALTER TABLE household_version ALTER COLUMN {column} TYPE json "
                f"USING {column}::json"
            )
    with op.batch_alter_table("household_version", schema=None) as batch_op:
        batch_op.alter_column("village_code", existing_type=code, nullable=False)
        batch_op.create_index("ix_household_version_feed", ["txid", "id"], unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column in ("changes", "document"):
            op.execute(
                f"ALTER TABLE household_version ALTER COLUMN {column} TYPE jsonb "
                f"USING {column}::jsonb"
            )
    with op.batch_alter_table("household_version", schema=None) as batch_op:
        batch_op.drop_index("ix_household_version_feed")
        batch_op.drop_column("previous_village_code")
        batch_op.drop_column("village_code")
        batch_op.drop_column("txid")

    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.alter_column("household_id", existing_type=sa.CHAR(length=32), nullable=False)
        batch_op.drop_column("records")
        batch_op.drop_column("region")

    with op.batch_alter_table("import_issue", schema=None) as batch_op:
        batch_op.drop_index("ix_import_issue_job_row")

    op.drop_table("import_issue")
    with op.batch_alter_table("import_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_job_status"))

    op.drop_table("import_job")
    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_record_created_at"))

    op.drop_table("idempotency_record")
