"""hookline_store_events(): many inbox inserts, of any tenants, as one statement and one commit.

The ingress gathers the deliveries that arrive while its earlier inserts are in flight and
stores them together (ingress/inbox_writer.py): one round trip, one WAL flush, and the Python
cost of one statement instead of one each. Row by row it does what `hookline_store_event`
(migration 0002) does: set that row's tenant for row-level security, insert unless the dedupe
key is there, return the stored row (new or existing), with `ord` the row's 1-based position in
the arrays. Each row's INSERT is checked against its own tenant by the policies.

It switches the tenant from row to row, so it refuses to run in a transaction that already
belongs to a tenant (it cannot widen a tenant session), and it leaves the tenant unset.
Callers send rows in (tenant, provider, dedupe key) order, so two batches that share keys
take the unique index's locks in the same order and cannot deadlock.

Revision ID: 0017
Revises: 0016
"""

from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

STORE_EVENTS = """
CREATE OR REPLACE FUNCTION hookline_store_events(
    p_tenants bigint[], p_providers text[], p_event_types text[], p_dedupe_keys text[], p_payloads jsonb[],
    p_statuses text[])
RETURNS TABLE (ord integer, stored_id bigint, stored_created boolean, stored_published boolean, stored_status text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    current_tenant text := nullif(current_setting('app.tenant_id', true), '');
    new_id bigint;
BEGIN
    IF current_tenant IS NOT NULL THEN
        RAISE EXCEPTION 'this transaction belongs to tenant %; hookline_store_events runs outside any tenant',
            current_tenant USING ERRCODE = 'insufficient_privilege';
    END IF;
    FOR i IN 1 .. coalesce(array_length(p_tenants, 1), 0) LOOP
        PERFORM set_config('app.tenant_id', p_tenants[i]::text, true);
        new_id := NULL;
        INSERT INTO webhook_events AS e (tenant_id, provider, event_type, dedupe_key, payload, status, attempts,
                                         received_at)
        VALUES (p_tenants[i], p_providers[i], p_event_types[i], p_dedupe_keys[i], p_payloads[i], p_statuses[i], 0,
                now())
        ON CONFLICT (tenant_id, provider, dedupe_key) DO NOTHING
        RETURNING e.id INTO new_id;
        IF new_id IS NOT NULL THEN
            RETURN QUERY SELECT i, new_id, true, false, p_statuses[i];
        ELSE
            RETURN QUERY SELECT i, e.id, false, e.published_at IS NOT NULL, e.status::text FROM webhook_events e
                WHERE e.tenant_id = p_tenants[i] AND e.provider = p_providers[i] AND e.dedupe_key = p_dedupe_keys[i];
        END IF;
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);
END
$$
"""


def upgrade() -> None:
    op.execute(STORE_EVENTS)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS hookline_store_events(bigint[], text[], text[], text[], jsonb[], text[])")
