"""dunning letters by email: the send state on the collection task, customers' addresses

Revision ID: 0014
Revises: 0005
Create Date: 2026-12-10 10:00:00
"""
import sqlalchemy as sa
from alembic import op

import storage.db

revision = "0014"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("collection_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_status", sa.String(12), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("email_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("email_to", sa.String(254), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("email_message_id", sa.String(255), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("email_error", sa.String(500), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("email_at", storage.db.UtcDateTime(timezone=True), nullable=True))
    op.create_table(
        "receivable_customer_emails",
        sa.Column("customer_key", sa.String(255), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("updated_at", storage.db.UtcDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("receivable_customer_emails")
    with op.batch_alter_table("collection_tasks", schema=None) as batch_op:
        for name in ("email_at", "email_error", "email_message_id", "email_to", "email_version", "email_status"):
            batch_op.drop_column(name)
