"""Recordings: one row per call or meeting file, its source and where its bytes are stored.

Revision ID: 0004
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from hookline.migrate import disable_tenant_isolation, enable_tenant_isolation

revision = '0004'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('recordings',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('parent_external_id', sa.String(length=200), nullable=True),
    sa.Column('source_url', sa.Text(), nullable=False),
    sa.Column('source_token', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('object_key', sa.String(length=500), nullable=False),
    sa.Column('extension', sa.String(length=8), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('content_type', sa.String(length=200), nullable=True),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('contact_external_id', sa.String(length=100), nullable=True),
    sa.Column('appointment_external_id', sa.String(length=100), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_recordings_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recordings')),
    sa.UniqueConstraint('tenant_id', 'source', 'external_id', name=op.f('uq_recordings_tenant_id_source_external_id'))
    )
    op.create_index(op.f('ix_recordings_tenant_id'), 'recordings', ['tenant_id'], unique=False)
    op.create_index(op.f('ix_recordings_status'), 'recordings', ['status'], unique=False)
    enable_tenant_isolation(op, "recordings")


def downgrade() -> None:
    disable_tenant_isolation(op, "recordings")
    op.drop_index(op.f('ix_recordings_status'), table_name='recordings')
    op.drop_index(op.f('ix_recordings_tenant_id'), table_name='recordings')
    op.drop_table('recordings')
