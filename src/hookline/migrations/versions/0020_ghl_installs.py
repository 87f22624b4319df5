"""ghl_installs, ghl_install_locations, ghl_app_events: Marketplace installs at agency scale (not tenant-owned).

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-07 02:40:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ghl_installs',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('company_id', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='listing', nullable=False),
    sa.Column('skip', sa.Integer(), server_default='0', nullable=False),
    sa.Column('access_token', sa.Text(), nullable=True),
    sa.Column('refresh_token', sa.Text(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('scope', sa.Text(), nullable=True),
    sa.Column('token_status', sa.String(length=32), server_default='active', nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ghl_installs')),
    sa.UniqueConstraint('company_id', name=op.f('uq_ghl_installs_company_id'))
    )
    op.create_table('ghl_install_locations',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('install_id', sa.BigInteger(), nullable=False),
    sa.Column('location_id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('state', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('connection_id', sa.BigInteger(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['install_id'], ['ghl_installs.id'],
                            name=op.f('fk_ghl_install_locations_install_id_ghl_installs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'],
                            name=op.f('fk_ghl_install_locations_connection_id_connections'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ghl_install_locations')),
    sa.UniqueConstraint('location_id', name=op.f('uq_ghl_install_locations_location_id'))
    )
    op.create_index(op.f('ix_ghl_install_locations_install_id'), 'ghl_install_locations', ['install_id'], unique=False)
    op.create_table('ghl_app_events',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('event_type', sa.String(length=100), nullable=False),
    sa.Column('app_id', sa.String(length=200), nullable=True),
    sa.Column('company_id', sa.String(length=200), nullable=True),
    sa.Column('location_id', sa.String(length=200), nullable=True),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ghl_app_events')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_ghl_app_events_dedupe_key'))
    )


def downgrade() -> None:
    op.drop_table('ghl_app_events')
    op.drop_index(op.f('ix_ghl_install_locations_install_id'), table_name='ghl_install_locations')
    op.drop_table('ghl_install_locations')
    op.drop_table('ghl_installs')
