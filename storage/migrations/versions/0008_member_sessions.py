"""console sessions ended on the server: one session generation per member

Revision ID: 0008
Revises: 0001
Create Date: 2026-12-04 19:00:00
"""
import sqlalchemy as sa
from alembic import op

import storage.db

revision = "0008"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "member_sessions",
        sa.Column("userid", sa.String(64), primary_key=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("updated_at", storage.db.UtcDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("member_sessions")
