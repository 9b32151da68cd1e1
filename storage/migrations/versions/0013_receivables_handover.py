"""receivables follow the customer: the original salesperson and the handover record (issue 17)

Revision ID: 0013
Revises: 0005
Create Date: 2026-12-20 10:00:00
"""
import sqlalchemy as sa
from alembic import op

import storage.db

revision = "0013"
down_revision = "0005"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("receivables", sa.Column("original_salesperson", sa.String(64), nullable=True))
    # departure_id carries no foreign key: the departures tables live on another migration branch.
    op.create_table(
        "receivable_handovers",
        sa.Column("id", ID, primary_key=True),
        sa.Column("receivable_id", ID, sa.ForeignKey("receivables.id", ondelete="CASCADE"), nullable=False),
        sa.Column("departure_id", ID, nullable=False),
        sa.Column("external_userid", sa.String(64), nullable=False),
        sa.Column("from_userid", sa.String(64), nullable=False),
        sa.Column("to_userid", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("at", storage.db.UtcDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_receivable_handovers_receivable_id", "receivable_handovers", ["receivable_id"])
    op.create_index("ix_receivable_handovers_departure_id", "receivable_handovers", ["departure_id"])


def downgrade() -> None:
    op.drop_index("ix_receivable_handovers_departure_id", table_name="receivable_handovers")
    op.drop_index("ix_receivable_handovers_receivable_id", table_name="receivable_handovers")
    op.drop_table("receivable_handovers")
    with op.batch_alter_table("receivables") as batch:
        batch.drop_column("original_salesperson")
