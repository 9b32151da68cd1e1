"""chat archive: envelopes, hash-chained messages, bigram search index, media, watch-lists

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22 17:00:00
"""
import sqlalchemy as sa
from alembic import op

import storage.db

revision = "0003"
down_revision = "0001"
branch_labels = ("archive",)
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = storage.db.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "archive_state",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
    )
    op.create_table(
        "archive_envelopes",
        sa.Column("id", BIG, primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("msgid", sa.String(128), nullable=False, unique=True),
        sa.Column("publickey_ver", sa.Integer(), nullable=False),
        sa.Column("encrypt_random_key", sa.Text(), nullable=False),
        sa.Column("encrypt_chat_msg", sa.Text(), nullable=False),
        sa.Column("fetched_at", UTC, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("ix_archive_envelopes_status", "archive_envelopes", ["status", "id"])
    op.create_table(
        "archive_messages",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("msgid", sa.String(128), nullable=False, unique=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("msgtype", sa.String(32), nullable=False),
        sa.Column("sender", sa.String(128), nullable=False),
        sa.Column("tolist", sa.Text(), nullable=False),
        sa.Column("roomid", sa.String(128), nullable=False),
        sa.Column("customer", sa.String(128), nullable=False),
        sa.Column("msgtime", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("ref_msgid", sa.String(128), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_archive_messages_ref", "archive_messages", ["ref_msgid"])
    op.create_table(
        "archive_docs",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("msgtime", sa.BigInteger(), nullable=False),
        sa.Column("sender", sa.String(128), nullable=False),
        sa.Column("customer", sa.String(128), nullable=False),
        sa.Column("conv", sa.String(300), nullable=False),
        sa.Column("msgtype", sa.String(32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_index("ix_archive_docs_time", "archive_docs", ["msgtime", "id"])
    op.create_index("ix_archive_docs_sender", "archive_docs", ["sender", "msgtime"])
    op.create_index("ix_archive_docs_customer", "archive_docs", ["customer", "msgtime"])
    op.create_index("ix_archive_docs_conv", "archive_docs", ["conv", "msgtime", "id"])
    op.create_table(
        "archive_postings",
        sa.Column("gram", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("msgtime", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("doc_id", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("next2", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("marks", sa.SmallInteger(), nullable=False, autoincrement=False),
        # marks is part of the key so PostgreSQL can answer counts with index-only scans.
        sa.PrimaryKeyConstraint("gram", "msgtime", "doc_id", "next2", "marks"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "archive_media",
        sa.Column("sdkfileid", sa.String(1024), primary_key=True),
        sa.Column("msgid", sa.String(128), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("indexbuf", sa.Text(), nullable=False),
        sa.Column("received_bytes", sa.BigInteger(), nullable=False),
        sa.Column("md5sum", sa.String(64), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", UTC, nullable=False),
    )
    op.create_table(
        "archive_watch_rules",
        sa.Column("id", BIG, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
    )
    op.create_table(
        "archive_watch_hits",
        sa.Column("id", BIG, primary_key=True),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("msgid", sa.String(128), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("sender", sa.String(128), nullable=False),
        sa.Column("customer", sa.String(128), nullable=False),
        sa.Column("snippet", sa.Text(), nullable=False),
        sa.Column("msgtime", sa.BigInteger(), nullable=False),
        sa.Column("hit_at", UTC, nullable=False),
        sa.UniqueConstraint("rule", "msgid", name="uq_archive_watch_hits_rule_msgid"),
    )
    op.create_index("ix_archive_watch_hits_time", "archive_watch_hits", ["hit_at"])


def downgrade() -> None:
    for table in ("archive_watch_hits", "archive_watch_rules", "archive_media", "archive_postings",
                  "archive_docs", "archive_messages", "archive_envelopes", "archive_state"):
        op.drop_table(table)
