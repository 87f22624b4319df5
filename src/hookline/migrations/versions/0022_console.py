"""The console: its audit log, its bulk replay jobs, and an index for an event's task-run timeline.

console_audit and console_replay_jobs are the operators' own records, not tenant data: a filter
may span tenants, so they have no row-level security (like tenants and connections).

Revision ID: 0022
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('console_audit',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('filter', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_audit'))
    )
    op.create_index(op.f('ix_console_audit_at'), 'console_audit', ['at'], unique=False)
    op.create_table('console_replay_jobs',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('filter_key', sa.String(length=64), nullable=False),
    sa.Column('filter', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('started_by', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=16), server_default='running', nullable=False),
    sa.Column('total', sa.Integer(), server_default='0', nullable=False),
    sa.Column('done', sa.Integer(), server_default='0', nullable=False),
    sa.Column('skipped', sa.Integer(), server_default='0', nullable=False),
    sa.Column('cursor_tenant', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('cursor_event', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('last_event', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_by', sa.String(length=100), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_replay_jobs')),
    sa.UniqueConstraint('key', name=op.f('uq_console_replay_jobs_key'))
    )
    # One running job per filter: a second start of the same filter joins it instead.
    op.create_index('ix_console_replay_jobs_running_filter', 'console_replay_jobs', ['filter_key'], unique=True,
                    postgresql_where=sa.text("state = 'running'"))
    # An event's timeline (console): its task runs without walking the tenant's whole history.
    op.create_index('ix_task_runs_tenant_id_event_id', 'task_runs', ['tenant_id', 'event_id'], unique=False,
                    postgresql_where=sa.text('event_id IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_task_runs_tenant_id_event_id', table_name='task_runs')
    op.drop_index('ix_console_replay_jobs_running_filter', table_name='console_replay_jobs')
    op.drop_table('console_replay_jobs')
    op.drop_index(op.f('ix_console_audit_at'), table_name='console_audit')
    op.drop_table('console_audit')
