"""archive pull health: last attempt, last success, last error, failures in a row, outage alert

Revision ID: 0009
Revises: 0003a
Create Date: 2026-12-04 20:00:00
"""
import sqlalchemy as sa
from alembic import op

import storage.db

revision = "0009"
down_revision = "0003a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "archive_pull_state",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("started_at", storage.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", storage.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", storage.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_errcode", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", storage.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("outage_alerted_at", storage.db.UtcDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("archive_pull_state")
