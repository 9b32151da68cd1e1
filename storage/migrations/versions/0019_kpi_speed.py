"""KPI reads in a fixed number of index range scans: the pool by owner and status, orders by customer,
contact days by (member, customer) (issue 18, item 5)

Revision ID: 0019
Revises: 0016
Create Date: 2027-01-20 10:00:00
"""
from alembic import op

revision = "0019"
down_revision = "0016"
branch_labels = None
depends_on = ("0005",)  # the order index is on the receivables ledger's table


def upgrade() -> None:
    op.create_index("ix_kpi_customers_owner_status", "customers", ["first_owner", "status", "created_at"])
    op.create_index("ix_kpi_receivables_customer", "receivables", ["external_userid", "issued_on"])
    op.create_index("ix_kpi_contact_days_pair", "kpi_contact_days", ["userid", "customer", "day"])


def downgrade() -> None:
    op.drop_index("ix_kpi_contact_days_pair", table_name="kpi_contact_days")
    op.drop_index("ix_kpi_receivables_customer", table_name="receivables")
    op.drop_index("ix_kpi_customers_owner_status", table_name="customers")
