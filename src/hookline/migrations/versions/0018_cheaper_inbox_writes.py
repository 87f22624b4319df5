"""Cheaper inbox writes for PostgreSQL: the store functions planned once, rows returned without a
query each, and room on every page for the `published_at` stamp to be a HOT update.

- `hookline_store_event` and `hookline_store_events` run with `plan_cache_mode = auto`. Every
  connection of Hookline forces custom plans (config.CUSTOM_PLANS), which made PL/pgSQL plan
  each of their statements again at every row: ~130 µs of PostgreSQL's CPU per call. What they
  cache now has no plan to choose: `set_config`, and the INSERT … ON CONFLICT (the conflict check
  is the unique index's). The one statement that has a choice, a duplicate's lookup, runs through
  EXECUTE, planned at every run for the table as it is: a generic plan cached while the inbox was
  small (no statistics) could walk the tenant's whole `(tenant_id, received_at)` index for every
  duplicate from then on.
- They fill in their result columns and `RETURN NEXT` instead of running `RETURN QUERY SELECT`
  for every row (~40 µs a row).
- `hookline_mark_published(tenant, ids)` stamps `published_at` one row at a time by primary key.
  The UPDATE it replaces (`tenant_id = … AND id = ANY(…)`) was planned, where no statistics
  exist (autovacuum off, or a table ANALYZE has not seen yet), as a BitmapAnd with a scan of the
  tenant's whole `(tenant_id, received_at)` index: a cost that grew with the inbox, to several
  ms a stamp. A primary-key equality, planned at each run (the connection's custom plans; no
  `plan_cache_mode` of its own), takes the primary key on any inbox past a few pages: a plan
  cached on a near-empty table would not. Its caller commits it without waiting for the WAL
  flush (services/inbox.py).
- `webhook_events` keeps a fifth of each page free (fillfactor 80). The ingress stamps
  `published_at` on every row a few ms after storing it; no index covers that column, so the
  stamp is a HOT update (no index written) whenever the new version fits on the row's page. At
  fillfactor 100 the page was nearly always full, and each stamp wrote all four indexes again.
  Applies to pages written from now on.

The store functions' behaviour is unchanged: same arguments, same rows, same checks
(tests/ingress/test_inbox_batches.py); the stamp's is tests/services/test_inbox_stamp.py.

Revision ID: 0018
Revises: 0017
"""

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

# The transaction acts for `p_tenant` from here on (row-level security), unless it belongs to
# another tenant already: a function that stores or stamps cannot widen a tenant session.
ENTER_TENANT = """
CREATE OR REPLACE FUNCTION hookline_enter_tenant(p_tenant bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    current_tenant text := nullif(current_setting('app.tenant_id', true), '');
BEGIN
    IF current_tenant IS NOT NULL AND current_tenant <> p_tenant::text THEN
        RAISE EXCEPTION 'this transaction belongs to tenant %, not %', current_tenant, p_tenant
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
END
$$
"""

STORE_EVENT = """
CREATE OR REPLACE FUNCTION hookline_store_event(
    p_tenant bigint, p_provider text, p_event_type text, p_dedupe_key text, p_payload jsonb, p_status text)
RETURNS TABLE (stored_id bigint, stored_created boolean, stored_published boolean, stored_status text)
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = auto AS $$
BEGIN
    PERFORM hookline_enter_tenant(p_tenant);
    INSERT INTO webhook_events AS e (tenant_id, provider, event_type, dedupe_key, payload, status, attempts, received_at)
    VALUES (p_tenant, p_provider, p_event_type, p_dedupe_key, p_payload, p_status, 0, now())
    ON CONFLICT (tenant_id, provider, dedupe_key) DO NOTHING
    RETURNING e.id INTO stored_id;
    IF stored_id IS NOT NULL THEN
        stored_created := true;
        stored_published := false;
        stored_status := p_status;
        RETURN NEXT;
    ELSE
        RETURN QUERY EXECUTE 'SELECT e.id, false, e.published_at IS NOT NULL, e.status::text FROM webhook_events e '
                             'WHERE e.tenant_id = $1 AND e.provider = $2 AND e.dedupe_key = $3'
            USING p_tenant, p_provider, p_dedupe_key;
    END IF;
END
$$
"""

STORE_EVENTS = """
CREATE OR REPLACE FUNCTION hookline_store_events(
    p_tenants bigint[], p_providers text[], p_event_types text[], p_dedupe_keys text[], p_payloads jsonb[],
    p_statuses text[])
RETURNS TABLE (ord integer, stored_id bigint, stored_created boolean, stored_published boolean, stored_status text)
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = auto AS $$
DECLARE
    current_tenant text := nullif(current_setting('app.tenant_id', true), '');
BEGIN
    IF current_tenant IS NOT NULL THEN
        RAISE EXCEPTION 'this transaction belongs to tenant %; hookline_store_events runs outside any tenant',
            current_tenant USING ERRCODE = 'insufficient_privilege';
    END IF;
    FOR i IN 1 .. coalesce(array_length(p_tenants, 1), 0) LOOP
        PERFORM set_config('app.tenant_id', p_tenants[i]::text, true);
        ord := i;
        stored_id := NULL;
        INSERT INTO webhook_events AS e (tenant_id, provider, event_type, dedupe_key, payload, status, attempts,
                                         received_at)
        VALUES (p_tenants[i], p_providers[i], p_event_types[i], p_dedupe_keys[i], p_payloads[i], p_statuses[i], 0,
                now())
        ON CONFLICT (tenant_id, provider, dedupe_key) DO NOTHING
        RETURNING e.id INTO stored_id;
        IF stored_id IS NOT NULL THEN
            stored_created := true;
            stored_published := false;
            stored_status := p_statuses[i];
            RETURN NEXT;
        ELSE
            RETURN QUERY EXECUTE 'SELECT $4, e.id, false, e.published_at IS NOT NULL, e.status::text '
                                 'FROM webhook_events e '
                                 'WHERE e.tenant_id = $1 AND e.provider = $2 AND e.dedupe_key = $3'
                USING p_tenants[i], p_providers[i], p_dedupe_keys[i], i;
        END IF;
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);
END
$$
"""

MARK_PUBLISHED = """
CREATE OR REPLACE FUNCTION hookline_mark_published(p_tenant bigint, p_event_ids bigint[])
RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    event_id bigint;
BEGIN
    PERFORM hookline_enter_tenant(p_tenant);
    FOREACH event_id IN ARRAY p_event_ids LOOP
        UPDATE webhook_events SET published_at = now()
            WHERE tenant_id = p_tenant AND id = event_id AND published_at IS NULL;
    END LOOP;
END
$$
"""


def upgrade() -> None:
    op.execute(ENTER_TENANT)
    op.execute(STORE_EVENT)
    op.execute(STORE_EVENTS)
    op.execute(MARK_PUBLISHED)
    op.execute("ALTER TABLE webhook_events SET (fillfactor = 80)")


def _earlier(name: str):
    spec = spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None  # the file is next to this one
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS hookline_mark_published(bigint, bigint[])")
    op.execute("ALTER TABLE webhook_events RESET (fillfactor)")
    # The functions as 0002 and 0017 made them (CREATE OR REPLACE drops the SET clause too).
    op.execute(_earlier("0002_store_event_function").STORE_EVENT)
    op.execute(_earlier("0017_store_events_batch").STORE_EVENTS)
    op.execute("DROP FUNCTION IF EXISTS hookline_enter_tenant(bigint)")
