"""CRM records mirrored from GoHighLevel: deals with pipelines and stages, appointments with
calendars, notes, CRM tasks; from Reonic: residential projects and their offers; contacts get a
version, a tombstone and DND settings. Row-level security on every new table.

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-21 22:32:44.569114
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from hookline.migrate import disable_tenant_isolation, enable_tenant_isolation

# In creation order: a table's references come before it.
RLS_TABLES = ("pipelines", "pipeline_stages", "deals", "calendars", "appointments", "notes", "crm_tasks",
              "residential_projects", "residential_offers")

revision = '0005'
down_revision = '0007'
branch_labels = None
depends_on = None


def text(name, length=None):
    return sa.Column(name, sa.String(length=length) if length else sa.Text(), nullable=True)


def instant(name):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def reference(name, table, ondelete='SET NULL'):
    return sa.Column(name, sa.BigInteger(), sa.ForeignKey(f'{table}.id', ondelete=ondelete), nullable=True)


def synced_table(name, *columns, indexed=()):
    """A table of models.base.SyncedRecord rows: keyed (tenant_id, provider, external_id)."""
    op.create_table(
        name,
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('tenant_id', sa.BigInteger(), nullable=False),
        sa.Column('provider', sa.String(length=32), nullable=False),
        sa.Column('external_id', sa.String(length=100), nullable=False),
        *columns,
        instant('source_version'),
        instant('deleted_at'),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f(f'fk_{name}_tenant_id_tenants'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{name}')),
        sa.UniqueConstraint('tenant_id', 'provider', 'external_id',
                            name=op.f(f'uq_{name}_tenant_id_provider_external_id')),
    )
    for column in ('tenant_id', *indexed):
        op.create_index(op.f(f'ix_{name}_{column}'), name, [column], unique=False)


def upgrade() -> None:
    synced_table('pipelines', text('name', 200))
    synced_table('pipeline_stages', reference('pipeline_id', 'pipelines', 'CASCADE'), text('name', 200),
                 sa.Column('position', sa.Integer(), nullable=True), indexed=('pipeline_id',))
    synced_table('deals', text('name', 400), text('status', 32), sa.Column('monetary_value', sa.Numeric(14, 2)),
                 text('source', 200), text('assigned_to', 100), text('contact_external_id', 100),
                 reference('pipeline_id', 'pipelines'), reference('stage_id', 'pipeline_stages'),
                 instant('date_added'), indexed=('contact_external_id',))
    synced_table('calendars', text('name', 200))
    synced_table('appointments', reference('calendar_id', 'calendars'), text('contact_external_id', 100),
                 text('title', 400), text('status', 32), text('assigned_user_id', 100),
                 sa.Column('users', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
                 text('address', 500), text('notes'), text('source', 200), text('group_id', 100),
                 instant('start_time'), instant('end_time'), instant('date_added'), indexed=('contact_external_id',))
    synced_table('notes', text('contact_external_id', 100), text('body'), instant('date_added'),
                 indexed=('contact_external_id',))
    synced_table('crm_tasks', text('contact_external_id', 100), text('title', 400), text('body'),
                 text('assigned_to', 100), instant('due_date'),
                 sa.Column('completed', sa.Boolean(), server_default='false', nullable=False),
                 instant('date_added'), indexed=('contact_external_id',))
    synced_table('residential_projects', text('name', 400), text('stage', 32), text('contact_external_id', 100),
                 text('customer_number', 100), text('kanban_board_id', 100), text('kanban_column_id', 100),
                 text('lead_source_id', 100), text('key_account_manager_id', 100),
                 sa.Column('tag_ids', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
                 text('deal_state', 16), instant('deal_decided_at'), text('lost_reason', 100),
                 text('primary_variant_id', 100), sa.Column('total_price', sa.Numeric(14, 2)),
                 sa.Column('address', postgresql.JSONB(astext_type=sa.Text())), instant('project_created_at'),
                 instant('archived_at'), indexed=('contact_external_id',))
    synced_table('residential_offers', text('project_external_id', 100), text('status', 32),
                 sa.Column('variant_ids', postgresql.JSONB(astext_type=sa.Text()), server_default='[]',
                           nullable=False),
                 text('signed_variant_id', 100), text('signed_payment_option_id', 100), instant('requested_at'),
                 instant('expires_at'), instant('signed_at'), instant('withdrawn_at'), instant('revoked_at'),
                 indexed=('project_external_id',))
    op.add_column('contacts', sa.Column('dnd_settings', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('contacts', instant('source_version'))
    op.add_column('contacts', instant('deleted_at'))
    enable_tenant_isolation(op, *RLS_TABLES)


def downgrade() -> None:
    disable_tenant_isolation(op, *RLS_TABLES)
    op.drop_column('contacts', 'deleted_at')
    op.drop_column('contacts', 'source_version')
    op.drop_column('contacts', 'dnd_settings')
    for table in reversed(RLS_TABLES):
        op.drop_table(table)  # its indexes go with it
