"""KPI roll-up table (report_metrics, under row-level security) and the indexes the roll-ups read by.

Revision ID: 0011
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from hookline.migrate import disable_tenant_isolation, enable_tenant_isolation

revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_metrics',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('metric', sa.String(length=64), nullable=False),
    sa.Column('dimension', sa.String(length=200), server_default='', nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('computed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_report_metrics_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'day', 'metric', 'dimension', name=op.f('pk_report_metrics'))
    )
    enable_tenant_isolation(op, 'report_metrics')
    # A day's leads are found by range on when the CRM says the contact was added, else when we
    # stored it; without these a day of a tenant with a million contacts reads all of them. Two
    # plain columns, not one index on coalesce(date_added, created_at): under row-level security
    # PostgreSQL will not use a condition on that expression in an index scan (it is not
    # leakproof), so the roll-up asks for the two ranges (services/reporting/rollups.py).
    op.create_index('ix_contacts_tenant_id_date_added', 'contacts', ['tenant_id', 'date_added'])
    op.create_index('ix_contacts_tenant_id_created_at_undated', 'contacts', ['tenant_id', 'created_at'],
                    postgresql_where=sa.text('date_added IS NULL'))
    # A day's webhook volume, by range on received_at (appended in order, so the index stays cheap to insert into).
    op.create_index('ix_webhook_events_tenant_id_received_at', 'webhook_events', ['tenant_id', 'received_at'])


def downgrade() -> None:
    op.drop_index('ix_webhook_events_tenant_id_received_at', table_name='webhook_events')
    op.drop_index('ix_contacts_tenant_id_created_at_undated', table_name='contacts')
    op.drop_index('ix_contacts_tenant_id_date_added', table_name='contacts')
    disable_tenant_isolation(op, 'report_metrics')
    op.drop_table('report_metrics')
