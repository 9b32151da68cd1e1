"""跑单 early warning: customer ownership and its history, counted contacts, diversion hits, alerts

Revision ID: 0015
Revises: 0004
Create Date: 2026-12-06 10:00:00
"""
import sqlalchemy as sa
from alembic import op

import storage.db

revision = "0015"
down_revision = "0004"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _at(name: str) -> sa.Column:
    return sa.Column(name, storage.db.UtcDateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "customer_owners",
        sa.Column("external_userid", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        _at("updated_at"),
        sa.Column("updated_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_customer_owners_owner", "customer_owners", ["owner"])
    op.create_table(
        "customer_owner_changes",
        sa.Column("id", BIG, primary_key=True),
        sa.Column("external_userid", sa.String(64), nullable=False),
        sa.Column("owner_before", sa.String(64), nullable=False),
        sa.Column("owner_after", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("departure_id", sa.Integer(), nullable=True),
        _at("at"),
    )
    op.create_index("ix_customer_owner_changes_customer", "customer_owner_changes", ["external_userid", "id"])
    op.create_index("ix_customer_owner_changes_after", "customer_owner_changes", ["owner_after", "source", "at"])
    op.create_table(
        "risk_contacts",
        sa.Column("id", BIG, primary_key=True),
        sa.Column("msgid", sa.String(128), nullable=False, unique=True),
        sa.Column("userid", sa.String(64), nullable=False),
        sa.Column("external_userid", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        _at("sent_at"),
        sa.Column("text", sa.Text(), nullable=False),
    )
    op.create_index("ix_risk_contacts_pair", "risk_contacts", ["userid", "external_userid", "sent_at"])
    op.create_index("ix_risk_contacts_time", "risk_contacts", ["sent_at"])
    op.create_table(
        "risk_hits",
        sa.Column("id", BIG, primary_key=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("msgid", sa.String(128), nullable=False),
        sa.Column("userid", sa.String(64), nullable=False),
        sa.Column("external_userid", sa.String(64), nullable=False),
        sa.Column("shape", sa.String(32), nullable=False),
        sa.Column("confidence", sa.String(8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        _at("sent_at"),
    )
    op.create_index("ix_risk_hits_member", "risk_hits", ["userid", "sent_at"])
    op.create_index("ix_risk_hits_time", "risk_hits", ["sent_at"])
    op.create_table(
        "risk_alerts",
        sa.Column("id", BIG, primary_key=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("userid", sa.String(64), nullable=False),
        sa.Column("external_userid", sa.String(64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _at("created_at"),
        _at("updated_at"),
    )
    op.create_index("ix_risk_alerts_member", "risk_alerts", ["userid", "rule", "created_at"])
    op.create_index("ix_risk_alerts_status", "risk_alerts", ["status", "id"])
    op.create_table(
        "risk_alert_notes",
        sa.Column("id", BIG, primary_key=True),
        sa.Column("alert_id", BIG, sa.ForeignKey("risk_alerts.id"), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("status_before", sa.String(16), nullable=False),
        sa.Column("status_after", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        _at("at"),
    )
    op.create_index("ix_risk_alert_notes_alert", "risk_alert_notes", ["alert_id", "id"])


def downgrade() -> None:
    for name in ("risk_alert_notes", "risk_alerts", "risk_hits", "risk_contacts", "customer_owner_changes",
                 "customer_owners"):
        op.drop_table(name)
