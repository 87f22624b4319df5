"""task_runs: the history of every task run, and the functions that write and read it cheaply.

`hookline_task_run_start` / `hookline_task_run_finish` are one autocommitted statement each
(one round trip): they set the tenant for row-level security, then INSERT or UPDATE. Like
`hookline_store_event` they refuse to switch a transaction that already belongs to another tenant.

`hookline_tenant_health(since)` is the one cross-tenant read the monitors need (inbox backlog,
failed runs since `since`, dead letters if that table exists): counts only, one row per tenant,
taken tenant by tenant under row-level security, in one round trip.

Revision ID: 0008
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from hookline.migrate import disable_tenant_isolation, enable_tenant_isolation

revision = '0008'
down_revision = '0004'
branch_labels = None
depends_on = None

SET_TENANT = """
    IF nullif(current_setting('app.tenant_id', true), '') IS NOT NULL
       AND current_setting('app.tenant_id', true) <> p_tenant::text THEN
        RAISE EXCEPTION 'this transaction belongs to tenant %, not %', current_setting('app.tenant_id', true), p_tenant
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
"""

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION hookline_task_run_start(
    p_tenant bigint, p_task text, p_queue text, p_task_id text, p_event_id bigint, p_attempt integer,
    p_request_id text)
RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    new_id bigint;
BEGIN
    {SET_TENANT}
    INSERT INTO task_runs (tenant_id, task, queue, task_id, event_id, state, attempt, request_id, started_at)
    VALUES (p_tenant, p_task, p_queue, p_task_id, p_event_id, 'started', p_attempt, p_request_id, now())
    RETURNING id INTO new_id;
    RETURN new_id;
END
$$;

CREATE OR REPLACE FUNCTION hookline_task_run_finish(
    p_tenant bigint, p_id bigint, p_state text, p_runtime double precision, p_error text)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    {SET_TENANT}
    UPDATE task_runs SET state = p_state, finished_at = now(), runtime_seconds = p_runtime, error = p_error
    WHERE tenant_id = p_tenant AND id = p_id;
END
$$;

CREATE OR REPLACE FUNCTION hookline_tenant_health(p_since timestamptz)
RETURNS TABLE (tenant bigint, inbox_pending bigint, oldest_pending timestamptz, runs_failed bigint,
               dead_letters bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    has_dead_letters boolean := to_regclass('dead_letters') IS NOT NULL;
BEGIN
    IF nullif(current_setting('app.tenant_id', true), '') IS NOT NULL THEN
        RAISE EXCEPTION 'hookline_tenant_health reads every tenant: call it outside a tenant transaction'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    FOR tenant IN SELECT t.id FROM tenants t ORDER BY t.id LOOP
        PERFORM set_config('app.tenant_id', tenant::text, true);
        SELECT count(*), min(e.received_at) INTO inbox_pending, oldest_pending
            FROM webhook_events e WHERE e.tenant_id = tenant AND e.status = 'pending';
        SELECT count(*) INTO runs_failed
            FROM task_runs r WHERE r.tenant_id = tenant AND r.state = 'failed' AND r.started_at >= p_since;
        dead_letters := NULL;
        IF has_dead_letters THEN  -- another branch's table: read only when it is there
            EXECUTE 'SELECT count(*) FROM dead_letters WHERE tenant_id = $1' INTO dead_letters USING tenant;
        END IF;
        RETURN NEXT;
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);
END
$$;
"""


def upgrade() -> None:
    op.create_table(
        'task_runs',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('tenant_id', sa.BigInteger(), nullable=False),
        sa.Column('task', sa.String(length=200), nullable=False),
        sa.Column('queue', sa.String(length=64), nullable=True),
        sa.Column('task_id', sa.String(length=64), nullable=False),
        sa.Column('event_id', sa.BigInteger(), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('attempt', sa.Integer(), server_default='1', nullable=False),
        sa.Column('request_id', sa.String(length=64), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('runtime_seconds', sa.Float(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_task_runs_tenant_id_tenants'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_task_runs')),
    )
    # Every read is one tenant's runs by time (failures in the last hour, pruning before a date).
    op.create_index('ix_task_runs_tenant_id_started_at', 'task_runs', ['tenant_id', 'started_at'])
    op.create_index('ix_task_runs_task_id', 'task_runs', ['task_id'])
    enable_tenant_isolation(op, 'task_runs')
    op.execute(FUNCTIONS)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS hookline_tenant_health(timestamptz)")
    op.execute("DROP FUNCTION IF EXISTS hookline_task_run_finish(bigint, bigint, text, double precision, text)")
    op.execute("DROP FUNCTION IF EXISTS hookline_task_run_start(bigint, text, text, text, bigint, integer, text)")
    disable_tenant_isolation(op, 'task_runs')
    op.drop_table('task_runs')
