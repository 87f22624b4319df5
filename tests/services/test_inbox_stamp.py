"""The ingress's `published_at` stamp (migration 0018): its tenant's rows only, by primary key, HOT."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from sqlalchemy import select, text

from hookline.db import tenant_session
from hookline.models import EventStatus, WebhookEvent
from hookline.services import inbox
from hookline.transport.published import mark_published_now
from tests.conftest import ADMIN_URL, DATABASE, DATABASE_URL, _admin


def event(tenant_id: int, key: str) -> dict:
    return {"tenant_id": tenant_id, "provider": "ghl", "event_type": "ContactCreate", "dedupe_key": key,
            "payload": {"webhookId": key, "contact": {"email": f"{key}@example.com"}}, "status": EventStatus.PENDING}


async def store(events: list[dict]) -> list[int]:
    async with await psycopg.AsyncConnection.connect(DATABASE_URL, autocommit=True) as conn:
        return [stored.event_id for stored in await inbox.store_many_now(conn, events)]


async def stamp(tenant_id: int, *batches: list[int]) -> None:
    """As the publisher does: one statement per batch, each committed on its own."""
    async with await psycopg.AsyncConnection.connect(DATABASE_URL, autocommit=True) as conn:
        for batch in batches:
            await mark_published_now(conn, tenant_id, batch)
        await conn.execute("SELECT pg_stat_force_next_flush()")  # the counters below, without a wait


def published(tenant_id: int) -> dict[int, object]:
    with tenant_session(tenant_id) as session:
        rows = session.execute(select(WebhookEvent.id, WebhookEvent.published_at)
                               .where(WebhookEvent.tenant_id == tenant_id)).all()
    return dict(rows)


def statistics() -> tuple[int, int, int]:
    """(stamps that were HOT updates, all updates, scans of the (tenant_id, received_at) index) so far."""
    with psycopg.connect(ADMIN_URL, dbname=DATABASE, autocommit=True) as conn:
        hot, updates = conn.execute("SELECT n_tup_hot_upd, n_tup_upd FROM pg_stat_user_tables "
                                    "WHERE relname = 'webhook_events'").fetchone()
        [scans] = conn.execute("SELECT idx_scan FROM pg_stat_user_indexes "
                               "WHERE indexrelname = 'ix_webhook_events_tenant_id_received_at'").fetchone()
    return hot, updates, scans


def test_a_stamp_marks_only_its_tenants_rows_never_published(tenant, other_tenant):
    mine = asyncio.run(store([event(tenant.id, f"k{n}") for n in range(3)]))
    [theirs] = asyncio.run(store([event(other_tenant.id, "k0")]))
    asyncio.run(stamp(tenant.id, [mine[0]]))
    first = published(tenant.id)[mine[0]]

    asyncio.run(stamp(tenant.id, [*mine, theirs]))

    now = published(tenant.id)
    assert now[mine[0]] == first  # stamped once, not again
    assert now[mine[1]] is not None and now[mine[2]] is not None
    assert published(other_tenant.id) == {theirs: None}  # another tenant's id in the list is left alone


def test_the_stamp_refuses_a_transaction_that_belongs_to_another_tenant(tenant, other_tenant):
    [theirs] = asyncio.run(store([event(other_tenant.id, "k0")]))

    async def inside_a_tenant_transaction() -> None:
        async with await psycopg.AsyncConnection.connect(DATABASE_URL) as conn:
            await conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant.id),))
            await mark_published_now(conn, other_tenant.id, [theirs])

    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        asyncio.run(inside_a_tenant_transaction())
    assert published(other_tenant.id) == {theirs: None}


def test_stamps_go_by_primary_key_and_leave_the_indexes_alone_on_a_table_never_analyzed(tenant):
    # A tenant with an inbox of some size and no statistics, as a PostgreSQL without autovacuum has
    # it: the UPDATE this replaced was planned as a scan of the tenant's whole (tenant_id,
    # received_at) index, a cost growing with the inbox.
    with tenant_session(tenant.id) as session:
        session.execute(text(
            "INSERT INTO webhook_events (tenant_id, provider, event_type, dedupe_key, payload, status, published_at) "
            "SELECT :tenant, 'ghl', 'ContactCreate', 'old-' || n, '{}'::jsonb, 'processed', now() "
            "FROM generate_series(1, 3000) n"), {"tenant": tenant.id})
    _admin("SELECT pg_stat_reset()", dbname=DATABASE)
    ids: list[int] = []
    for batch in range(20):
        ids += asyncio.run(store([event(tenant.id, f"b{batch}-{n}") for n in range(25)]))
    hot_before, updates_before, scans_before = statistics()

    asyncio.run(stamp(tenant.id, *(ids[start:start + 10] for start in range(0, len(ids), 10))))

    hot, updates, scans = statistics()
    assert updates - updates_before == len(ids)
    assert scans == scans_before
    # The fillfactor leaves room on each page for the stamped version: most stamps write no index.
    assert hot - hot_before >= 0.5 * len(ids)
