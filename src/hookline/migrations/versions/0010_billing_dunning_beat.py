"""Billing and dunning tables, the fan-out's per-tenant runs, beat's last run per schedule entry.

Every tenant-owned table is under row-level security; `beat_runs` is beat's own (no tenant).

Revision ID: 0010
Revises: 0003
Create Date: 2026-11-21 22:33:28.825898
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from hookline.migrate import disable_tenant_isolation, enable_tenant_isolation

RLS_TABLES = ('billing_customers', 'billing_subscriptions', 'billing_invoices', 'billing_payments',
              'dunning_attempts', 'dunning_policies', 'scheduled_runs')

revision = '0010'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('beat_runs',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_beat_runs'))
    )
    op.create_table('billing_customers',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=400), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_billing_customers_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_customers')),
    sa.UniqueConstraint('tenant_id', 'external_id', name=op.f('uq_billing_customers_tenant_id_external_id'))
    )
    op.create_index(op.f('ix_billing_customers_tenant_id'), 'billing_customers', ['tenant_id'], unique=False)
    op.create_table('dunning_policies',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('reminder_days', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('suspend_after_days', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dunning_policies_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_dunning_policies'))
    )
    op.create_table('scheduled_runs',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('task', sa.String(length=200), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('enqueued_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_scheduled_runs_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'task', 'local_date', name=op.f('pk_scheduled_runs'))
    )
    op.create_table('billing_subscriptions',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('plan', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='active', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['billing_customers.id'], name=op.f('fk_billing_subscriptions_customer_id_billing_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_billing_subscriptions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_subscriptions'))
    )
    op.create_index(op.f('ix_billing_subscriptions_customer_id'), 'billing_subscriptions', ['customer_id'], unique=False)
    op.create_index(op.f('ix_billing_subscriptions_tenant_id'), 'billing_subscriptions', ['tenant_id'], unique=False)
    op.create_table('billing_invoices',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('subscription_id', sa.BigInteger(), nullable=True),
    sa.Column('number', sa.String(length=100), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reinstated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['billing_customers.id'], name=op.f('fk_billing_invoices_customer_id_billing_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subscription_id'], ['billing_subscriptions.id'], name=op.f('fk_billing_invoices_subscription_id_billing_subscriptions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_billing_invoices_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_invoices')),
    sa.UniqueConstraint('tenant_id', 'external_id', name=op.f('uq_billing_invoices_tenant_id_external_id')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_billing_invoices_tenant_id_number'))
    )
    op.create_index(op.f('ix_billing_invoices_customer_id'), 'billing_invoices', ['customer_id'], unique=False)
    op.create_index(op.f('ix_billing_invoices_status'), 'billing_invoices', ['status'], unique=False)
    op.create_index(op.f('ix_billing_invoices_tenant_id'), 'billing_invoices', ['tenant_id'], unique=False)
    op.create_table('billing_payments',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('invoice_id', sa.BigInteger(), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoices.id'], name=op.f('fk_billing_payments_invoice_id_billing_invoices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_billing_payments_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_payments')),
    sa.UniqueConstraint('tenant_id', 'external_id', name=op.f('uq_billing_payments_tenant_id_external_id'))
    )
    op.create_index(op.f('ix_billing_payments_invoice_id'), 'billing_payments', ['invoice_id'], unique=False)
    op.create_index(op.f('ix_billing_payments_tenant_id'), 'billing_payments', ['tenant_id'], unique=False)
    op.create_table('dunning_attempts',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('invoice_id', sa.BigInteger(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('days_after_due', sa.Integer(), nullable=False),
    sa.Column('run_date', sa.Date(), nullable=False),
    sa.Column('email_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoices.id'], name=op.f('fk_dunning_attempts_invoice_id_billing_invoices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dunning_attempts_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dunning_attempts')),
    sa.UniqueConstraint('invoice_id', 'step', name=op.f('uq_dunning_attempts_invoice_id_step'))
    )
    op.create_index(op.f('ix_dunning_attempts_tenant_id'), 'dunning_attempts', ['tenant_id'], unique=False)
    enable_tenant_isolation(op, *RLS_TABLES)


def downgrade() -> None:
    disable_tenant_isolation(op, *RLS_TABLES)
    op.drop_index(op.f('ix_dunning_attempts_tenant_id'), table_name='dunning_attempts')
    op.drop_table('dunning_attempts')
    op.drop_index(op.f('ix_billing_payments_tenant_id'), table_name='billing_payments')
    op.drop_index(op.f('ix_billing_payments_invoice_id'), table_name='billing_payments')
    op.drop_table('billing_payments')
    op.drop_index(op.f('ix_billing_invoices_tenant_id'), table_name='billing_invoices')
    op.drop_index(op.f('ix_billing_invoices_status'), table_name='billing_invoices')
    op.drop_index(op.f('ix_billing_invoices_customer_id'), table_name='billing_invoices')
    op.drop_table('billing_invoices')
    op.drop_index(op.f('ix_billing_subscriptions_tenant_id'), table_name='billing_subscriptions')
    op.drop_index(op.f('ix_billing_subscriptions_customer_id'), table_name='billing_subscriptions')
    op.drop_table('billing_subscriptions')
    op.drop_table('scheduled_runs')
    op.drop_table('dunning_policies')
    op.drop_index(op.f('ix_billing_customers_tenant_id'), table_name='billing_customers')
    op.drop_table('billing_customers')
    op.drop_table('beat_runs')
