"""connection_tokens: API credentials per connection (Fernet ciphertext), with row-level security.

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-21 22:50:00
"""

import sqlalchemy as sa
from alembic import op

from hookline.migrate import disable_tenant_isolation, enable_tenant_isolation

revision = '0006'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('connection_tokens',
    sa.Column('connection_id', sa.BigInteger(), nullable=False),
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('access_token', sa.Text(), nullable=False),
    sa.Column('refresh_token', sa.Text(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('scope', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=32), server_default='active', nullable=False),
    sa.Column('status_reason', sa.String(length=200), nullable=True),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_connection_tokens_connection_id_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_connection_tokens_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('connection_id', name=op.f('pk_connection_tokens'))
    )
    op.create_index(op.f('ix_connection_tokens_tenant_id'), 'connection_tokens', ['tenant_id'], unique=False)
    enable_tenant_isolation(op, 'connection_tokens')


def downgrade() -> None:
    disable_tenant_isolation(op, 'connection_tokens')
    op.drop_index(op.f('ix_connection_tokens_tenant_id'), table_name='connection_tokens')
    op.drop_table('connection_tokens')
