"""webhook signing secrets stored sealed: room for the Fernet token

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

Secrets written before this revision stay readable as they are; `selaras-referral reseal`
seals them (the keys are configuration, not something a migration should read).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscription", schema=None) as batch_op:
        batch_op.alter_column(
            "secret", existing_type=sa.String(length=200), type_=sa.String(length=512)
        )


def downgrade() -> None:
    # A sealed secret does not fit the old column, and the old code could not open it:
    # refuse rather than cut the subscriptions' secrets.
    sealed = op.get_bind().execute(
        sa.text("SELECT count(*) FROM webhook_subscription WHERE secret LIKE 'fernet:%'")
    )
    if sealed.scalar():
        raise RuntimeError(
            "webhook secrets are sealed: before 0004 they cannot be kept; "
            "delete those subscriptions first if you must go back"
        )
    with op.batch_alter_table("webhook_subscription", schema=None) as batch_op:
        batch_op.alter_column(
            "secret", existing_type=sa.String(length=512), type_=sa.String(length=200)
        )
