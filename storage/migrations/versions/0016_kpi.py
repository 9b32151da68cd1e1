"""KPI aggregates: awaited replies, contacts, contact days, member days (issue 18)

Revision ID: 0016
Revises: 0003a
Create Date: 2027-01-10 10:00:00
"""
import sqlalchemy as sa
from alembic import op

import storage.db

revision = "0016"
down_revision = "0003a"
branch_labels = None
depends_on = ("0004",)  # the owner index is on the customer pool's table


def upgrade() -> None:
    op.create_table(
        "kpi_awaiting",
        sa.Column("userid", sa.String(64), primary_key=True),
        sa.Column("customer", sa.String(128), primary_key=True),
        sa.Column("since_ms", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "kpi_contacts",
        sa.Column("userid", sa.String(64), primary_key=True),
        sa.Column("customer", sa.String(128), primary_key=True),
        sa.Column("first_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_ms", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "kpi_contact_days",
        sa.Column("userid", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("customer", sa.String(128), primary_key=True),
    )
    op.create_table(
        "kpi_member_days",
        sa.Column("userid", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("reply_count", sa.Integer(), nullable=False),
        sa.Column("work_seconds", sa.JSON(), nullable=False),
        sa.Column("wall_seconds", sa.JSON(), nullable=False),
        sa.Column("updated_at", storage.db.UtcDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_kpi_customers_owner", "customers", ["first_owner", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_kpi_customers_owner", table_name="customers")
    op.drop_table("kpi_member_days")
    op.drop_table("kpi_contact_days")
    op.drop_table("kpi_contacts")
    op.drop_table("kpi_awaiting")
