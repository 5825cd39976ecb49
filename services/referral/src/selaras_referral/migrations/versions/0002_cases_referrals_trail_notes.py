"""cases, referrals, their audit trail, notes, idempotency records

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

_REFUSE_CHANGES = """
CREATE FUNCTION referral_trail_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'referral_trail is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""


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
        "intake_case",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        sa.Column(
            "region",
            sa.String(length=10).with_variant(sa.String(length=10, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("registry_checked", sa.Boolean(), nullable=False),
        sa.Column(
            "registry_problem",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("sector", sa.String(length=32), nullable=False),
        sa.Column(
            "ppks",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column(
            "consent",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("registered_by", sa.String(length=200), nullable=False),
        sa.Column("registered_role", sa.String(length=32), nullable=False),
        sa.Column(
            "office",
            sa.String(length=10).with_variant(sa.String(length=10, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("intake_case", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_intake_case_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index(
            "ix_intake_case_region_created", ["region", "created_at", "id"], unique=False
        )

    op.create_table(
        "referral",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column(
            "region",
            sa.String(length=10).with_variant(sa.String(length=10, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "program",
            sa.String(length=32).with_variant(sa.String(length=32, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("program_name", sa.String(length=200), nullable=True),
        sa.Column(
            "organization",
            sa.String(length=50).with_variant(sa.String(length=50, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("source_level", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("registry_checked", sa.Boolean(), nullable=False),
        sa.Column("eligibility_checked", sa.Boolean(), nullable=False),
        sa.Column("eligibility_status", sa.String(length=16), nullable=True),
        sa.Column(
            "check_problems",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("requires_approval", sa.Boolean(), nullable=False),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("parent_referral_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "outcome",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("response_due_at", UTCDateTime(), nullable=True),
        sa.Column("resolution_due_at", UTCDateTime(), nullable=True),
        sa.Column("requested_at", UTCDateTime(), nullable=True),
        sa.Column("responded_at", UTCDateTime(), nullable=True),
        sa.Column("accepted_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("escalated_at", UTCDateTime(), nullable=True),
        sa.Column(
            "escalated_to",
            sa.String(length=10).with_variant(sa.String(length=10, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("escalated_for", sa.String(length=16), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["intake_case.id"],
        ),
        sa.ForeignKeyConstraint(
            ["parent_referral_id"],
            ["referral.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referral_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            "ix_referral_org_created", ["organization", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_referral_parent_referral_id"), ["parent_referral_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_referral_program"), ["program"], unique=False)
        batch_op.create_index(
            "ix_referral_region_created", ["region", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_referral_status_due",
            ["status", "response_due_at", "resolution_due_at"],
            unique=False,
        )

    op.create_table(
        "note",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("referral_id", sa.Uuid(), nullable=True),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column(
            "organization",
            sa.String(length=50).with_variant(sa.String(length=50, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["intake_case.id"],
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referral.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.create_index("ix_note_case_created", ["case_id", "created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_note_referral_id"), ["referral_id"], unique=False)

    op.create_table(
        "referral_trail",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column(
            "organization",
            sa.String(length=50).with_variant(sa.String(length=50, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "outcome",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referral.id"],
        ),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("referral_trail", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_referral_trail_referral_id"), ["referral_id"], unique=False
        )

    if op.get_bind().dialect.name == "postgresql":
        # The audit trail is append-only: no API edits it, and neither may anything else.
        op.execute(_REFUSE_CHANGES)
        op.execute(
            "CREATE TRIGGER referral_trail_append_only BEFORE UPDATE OR DELETE "
            "ON referral_trail FOR EACH ROW EXECUTE FUNCTION referral_trail_refuse_change()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER referral_trail_no_{operation.lower()} BEFORE {operation} "
                "ON referral_trail BEGIN "
                "SELECT RAISE(ABORT, 'referral_trail is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS referral_trail_append_only ON referral_trail")
        op.execute("DROP FUNCTION IF EXISTS referral_trail_refuse_change()")
    else:
        op.execute("DROP TRIGGER IF EXISTS referral_trail_no_update")
        op.execute("DROP TRIGGER IF EXISTS referral_trail_no_delete")
    with op.batch_alter_table("referral_trail", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_trail_referral_id"))

    op.drop_table("referral_trail")
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_note_referral_id"))
        batch_op.drop_index("ix_note_case_created")

    op.drop_table("note")
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.drop_index("ix_referral_status_due")
        batch_op.drop_index("ix_referral_region_created")
        batch_op.drop_index(batch_op.f("ix_referral_program"))
        batch_op.drop_index(batch_op.f("ix_referral_parent_referral_id"))
        batch_op.drop_index("ix_referral_org_created")
        batch_op.drop_index(batch_op.f("ix_referral_case_id"))

    op.drop_table("referral")
    with op.batch_alter_table("intake_case", schema=None) as batch_op:
        batch_op.drop_index("ix_intake_case_region_created")
        batch_op.drop_index(batch_op.f("ix_intake_case_household_id"))

    op.drop_table("intake_case")
    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_record_created_at"))

    op.drop_table("idempotency_record")
