"""Batches: a task run names every inbox event its message carried (`task_runs.event_ids`).

A batch task (transport/batches.py) takes many events in one run; its row keeps them all, so "what
happened to event N" finds the run by `event_id = N OR event_ids @> ARRAY[N]` (GIN index).
`hookline_task_run_start` gets an overload with the ids; the old one stays for workers not yet updated.

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

# The tenant is entered as every such function does (hookline_enter_tenant, migration 0018).
START = """
CREATE OR REPLACE FUNCTION hookline_task_run_start(
    p_tenant bigint, p_task text, p_queue text, p_task_id text, p_event_id bigint, p_attempt integer,
    p_request_id text, p_event_ids bigint[])
RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    new_id bigint;
BEGIN
    PERFORM hookline_enter_tenant(p_tenant);
    INSERT INTO task_runs (tenant_id, task, queue, task_id, event_id, event_ids, state, attempt, request_id, started_at)
    VALUES (p_tenant, p_task, p_queue, p_task_id, p_event_id, p_event_ids, 'started', p_attempt, p_request_id, now())
    RETURNING id INTO new_id;
    RETURN new_id;
END
$$;
"""


def upgrade() -> None:
    op.add_column('task_runs', sa.Column('event_ids', postgresql.ARRAY(sa.BigInteger()), nullable=True))
    op.create_index('ix_task_runs_event_ids', 'task_runs', ['event_ids'], unique=False, postgresql_using='gin',
                    postgresql_where=sa.text('event_ids IS NOT NULL'))
    op.execute(START)


def downgrade() -> None:
    op.execute("DROP FUNCTION hookline_task_run_start(bigint, text, text, text, bigint, integer, text, bigint[])")
    op.drop_index('ix_task_runs_event_ids', table_name='task_runs', postgresql_where=sa.text('event_ids IS NOT NULL'))
    op.drop_column('task_runs', 'event_ids')
