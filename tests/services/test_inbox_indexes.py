"""The inbox's partial indexes serve the relay's and a replay's reads, under row-level security."""

from datetime import timedelta

from sqlalchemy import text

from hookline.db import tenant_session
from hookline.services import inbox


def plan(session, sql: str) -> str:
    return "\n".join(row[0] for row in session.execute(text(f"EXPLAIN {sql}")))


def test_the_relay_and_a_replay_read_their_few_rows_through_partial_indexes(tenant):
    # 3 pending and 2 failed among 3,000 processed, analyzed: what an inbox looks like in production
    with tenant_session(tenant.id) as session:
        session.execute(text(
            "INSERT INTO webhook_events (tenant_id, provider, event_type, dedupe_key, payload, status) "
            "SELECT :tenant, 'ghl', 'ContactCreate', 'k-' || n, '{}'::jsonb, "
            "CASE WHEN n <= 3 THEN 'pending' WHEN n <= 5 THEN 'failed' ELSE 'processed' END "
            "FROM generate_series(1, 3000) n"), {"tenant": tenant.id})
    with tenant_session(tenant.id) as session:
        session.execute(text("ANALYZE webhook_events"))
    tenant_id = int(tenant.id)

    with tenant_session(tenant.id) as session:
        relay = plan(session, f"SELECT id FROM webhook_events WHERE tenant_id = {tenant_id} AND status = 'pending' "
                              "AND published_at IS NULL AND received_at < now() ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED")
        replay = plan(session, f"SELECT id FROM webhook_events WHERE tenant_id = {tenant_id} AND status = 'failed' "
                               "ORDER BY received_at, id")
        unpublished = inbox.unpublished(session, tenant.id, older_than=timedelta(0), limit=100)
        failed = inbox.failed_since(session, tenant.id)

    assert "ix_webhook_events_pending" in relay and "ix_webhook_events_failed" in replay
    assert (len(unpublished), len(failed)) == (3, 2)
