"""group chat names cached from WeCom's groupchat/get (names, not ids, in the console: issue 20)

Revision ID: 0018
Revises: 0001
Create Date: 2026-12-06 10:00:00
"""
import sqlalchemy as sa
from alembic import op

import storage.db

revision = "0018"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "groupchat_names",
        sa.Column("chat_id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("errcode", sa.Integer(), nullable=False),
        sa.Column("fetched_at", storage.db.UtcDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("groupchat_names")
