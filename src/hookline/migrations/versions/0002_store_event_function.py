"""hookline_store_event(): the inbox insert as one statement, one round trip, for every caller.

Sets the tenant for row-level security, inserts unless the dedupe key is there, and returns
the stored row (new or existing). The SELECT for a duplicate is its own statement inside the
function, so under READ COMMITTED it sees a concurrent twin's row once that twin commits.
The function refuses to switch an already-set tenant, so it cannot widen a tenant session.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

STORE_EVENT = """
CREATE OR REPLACE FUNCTION hookline_store_event(
    p_tenant bigint, p_provider text, p_event_type text, p_dedupe_key text, p_payload jsonb, p_status text)
RETURNS TABLE (stored_id bigint, stored_created boolean, stored_published boolean, stored_status text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    current_tenant text := nullif(current_setting('app.tenant_id', true), '');
    new_id bigint;
BEGIN
    IF current_tenant IS NOT NULL AND current_tenant <> p_tenant::text THEN
        RAISE EXCEPTION 'this transaction belongs to tenant %, not %', current_tenant, p_tenant
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
    INSERT INTO webhook_events AS e (tenant_id, provider, event_type, dedupe_key, payload, status, attempts, received_at)
    VALUES (p_tenant, p_provider, p_event_type, p_dedupe_key, p_payload, p_status, 0, now())
    ON CONFLICT (tenant_id, provider, dedupe_key) DO NOTHING
    RETURNING e.id INTO new_id;
    IF new_id IS NOT NULL THEN
        RETURN QUERY SELECT new_id, true, false, p_status;
    ELSE
        RETURN QUERY SELECT e.id, false, e.published_at IS NOT NULL, e.status::text FROM webhook_events e
            WHERE e.tenant_id = p_tenant AND e.provider = p_provider AND e.dedupe_key = p_dedupe_key;
    END IF;
END
$$
"""


def upgrade() -> None:
    op.execute(STORE_EVENT)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS hookline_store_event(bigint, text, text, text, jsonb, text)")
