"""exit questionnaire: one answer row per departure (issue 17)

Revision ID: 0012
Revises: 0006
Create Date: 2026-12-10 10:00:00
"""
import sqlalchemy as sa
from alembic import op

import storage.db

revision = "0012"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "departure_exit_answers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("departure_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  sa.ForeignKey("departures.id", ondelete="CASCADE"), nullable=False),
        sa.Column("userid", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("invited_at", storage.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", storage.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", storage.db.UtcDateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("departure_id"),
        sa.UniqueConstraint("token_hash"),
    )


def downgrade() -> None:
    op.drop_table("departure_exit_answers")
