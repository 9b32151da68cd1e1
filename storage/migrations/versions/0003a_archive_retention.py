"""chat archive retention: chain checkpoints and gaps, legal holds, msgid indexes for the purge

Revision ID: 0003a
Revises: 0003
Create Date: 2026-12-01 10:00:00
"""
import sqlalchemy as sa
from alembic import op

import storage.db

revision = "0003a"
down_revision = "0003"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = storage.db.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "archive_chain_checkpoints",
        sa.Column("id", BIG, primary_key=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("cutoff_ms", sa.BigInteger(), nullable=False),
        sa.Column("first_id", sa.BigInteger(), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.Column("prev_mac", sa.String(64), nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
    )
    op.create_table(
        "archive_chain_gaps",
        sa.Column("first_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("checkpoint_id", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_archive_chain_gaps_checkpoint_id", "archive_chain_gaps", ["checkpoint_id"])
    op.create_table(
        "archive_legal_holds",
        sa.Column("id", BIG, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("userid", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("released_by", sa.String(128), nullable=True),
        sa.Column("released_at", UTC, nullable=True),
    )
    op.create_index("ix_archive_legal_holds_userid", "archive_legal_holds", ["userid", "released_at"])
    op.create_index("ix_archive_media_msgid", "archive_media", ["msgid"])
    op.create_index("ix_archive_watch_hits_msgid", "archive_watch_hits", ["msgid"])


def downgrade() -> None:
    op.drop_index("ix_archive_watch_hits_msgid", "archive_watch_hits")
    op.drop_index("ix_archive_media_msgid", "archive_media")
    for table in ("archive_legal_holds", "archive_chain_gaps", "archive_chain_checkpoints"):
        op.drop_table(table)
