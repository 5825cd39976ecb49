"""screening rows without a foreign key to their series

A full screening writes a row per household (a million for a province); checking the
series of every row took longer than writing it. The runner writes rows only for the series
whose `last_seq` it advanced in the same transaction, which locks that series row, so the
check added nothing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Gives the foreign key, unnamed in 0002, a name SQLite's table copy can drop it by.
_NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
_SQLITE_NAME = "fk_screening_row_series_id_screening_series"
#: PostgreSQL's name for the foreign key of 0002.
_POSTGRES_NAME = "screening_row_series_id_fkey"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(_POSTGRES_NAME, "screening_row", type_="foreignkey")
        return
    with op.batch_alter_table("screening_row", naming_convention=_NAMING) as batch_op:
        batch_op.drop_constraint(_SQLITE_NAME, type_="foreignkey")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # Rows of a series that no longer exists would fail the key: they are of no use.
    op.execute("DELETE FROM screening_row WHERE series_id NOT IN (SELECT id FROM screening_series)")
    with op.batch_alter_table("screening_row") as batch_op:
        batch_op.create_foreign_key(
            _POSTGRES_NAME if postgres else _SQLITE_NAME,
            "screening_series",
            ["series_id"],
            ["id"],
            ondelete="CASCADE",
        )
