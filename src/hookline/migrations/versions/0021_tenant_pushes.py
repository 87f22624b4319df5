"""crm_pushes: changes pushed back to GoHighLevel, once per key, with row-level security; tenants.pushes_enabled.

Revision ID: 0021
Revises: 0018
Create Date: 2026-12-07 03:00:00
"""

import sqlalchemy as sa
from alembic import op

from hookline.migrate import disable_tenant_isolation, enable_tenant_isolation

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('tenants', sa.Column('pushes_enabled', sa.Boolean(), server_default='true', nullable=False))
    op.create_table('crm_pushes',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('contact_external_id', sa.String(length=100), nullable=True),
    sa.Column('result', sa.String(length=200), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_crm_pushes_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_pushes')),
    sa.UniqueConstraint('tenant_id', 'key', name=op.f('uq_crm_pushes_tenant_id_key'))
    )
    enable_tenant_isolation(op, 'crm_pushes')


def downgrade() -> None:
    disable_tenant_isolation(op, 'crm_pushes')
    op.drop_table('crm_pushes')
    op.drop_column('tenants', 'pushes_enabled')
