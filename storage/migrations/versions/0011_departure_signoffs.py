"""the departure handover checklist: one sign-off row per step (issue 17)

Revision ID: 0011
Revises: 0006
Create Date: 2026-12-20 10:00:00
"""
import sqlalchemy as sa
from alembic import op

import storage.db

revision = "0011"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "departure_signoffs",
        sa.Column("id", ID, primary_key=True),
        sa.Column("departure_id", ID, sa.ForeignKey("departures.id", ondelete="CASCADE"), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("title", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("task_id", sa.String(128), nullable=True, unique=True),
        sa.Column("outbox_key", sa.String(200), nullable=True),
        sa.Column("signed_by", sa.String(64), nullable=True),
        sa.Column("signed_at", storage.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", storage.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.db.UtcDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("departure_id", "step", name="uq_departure_signoffs_step"),
    )


def downgrade() -> None:
    op.drop_table("departure_signoffs")
