"""scheduled jobs: how each one last went (failures stored, not only logged)

Revision ID: 0017
Revises: 0001
Create Date: 2026-12-04 19:30:00
"""
import sqlalchemy as sa
from alembic import op

import storage.db

revision = "0017"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    when = storage.db.UtcDateTime(timezone=True)
    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("last_started_at", when, nullable=True),
        sa.Column("last_finished_at", when, nullable=True),
        sa.Column("last_success_at", when, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", when, nullable=True),
        sa.Column("failures_in_row", sa.Integer(), nullable=False),
        sa.Column("failing_since", when, nullable=True),
        sa.Column("alerted", sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
