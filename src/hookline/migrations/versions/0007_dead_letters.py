"""dead_letters: tasks whose retries ran out, that failed for good, or that kept killing their worker.

Revision ID: 0007
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from hookline.migrate import disable_tenant_isolation, enable_tenant_isolation

revision = '0007'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dead_letters',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('task', sa.String(length=200), nullable=False),
    sa.Column('task_id', sa.String(length=64), nullable=False),
    sa.Column('kwargs', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('traceback', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='1', nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('first_failed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_failed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dead_letters_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dead_letters')),
    sa.UniqueConstraint('tenant_id', 'task_id', name=op.f('uq_dead_letters_tenant_id_task_id'))
    )
    op.create_index(op.f('ix_dead_letters_tenant_id'), 'dead_letters', ['tenant_id'], unique=False)
    op.create_index(op.f('ix_dead_letters_status'), 'dead_letters', ['status'], unique=False)
    enable_tenant_isolation(op, 'dead_letters')


def downgrade() -> None:
    disable_tenant_isolation(op, 'dead_letters')
    op.drop_index(op.f('ix_dead_letters_status'), table_name='dead_letters')
    op.drop_index(op.f('ix_dead_letters_tenant_id'), table_name='dead_letters')
    op.drop_table('dead_letters')
