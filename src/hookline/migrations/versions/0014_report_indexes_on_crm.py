"""Indexes the nightly roll-ups read the CRM tables by: a day's range per tenant.

Plain columns, not expressions: under row-level security PostgreSQL uses only leakproof
conditions in an index scan (see migration 0011).

Revision ID: 0014
Revises: 0005
"""

from alembic import op

revision = '0014'
down_revision = '0005'
branch_labels = None
depends_on = None

INDEXES = {
    "ix_deals_tenant_id_source_version": ("deals", ["tenant_id", "source_version"]),
    "ix_appointments_tenant_id_date_added": ("appointments", ["tenant_id", "date_added"]),
    "ix_appointments_tenant_id_start_time": ("appointments", ["tenant_id", "start_time"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table_name=table)
