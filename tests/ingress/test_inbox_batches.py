"""Deliveries that arrive together are stored together (migration 0017), each exactly as alone."""

from __future__ import annotations

import asyncio
import json

import psycopg
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from hookline.config import get_settings
from hookline.db import tenant_session
from hookline.ingress.accept import Delivery
from hookline.ingress.inbox_writer import InboxWriter
from hookline.models import EventStatus, WebhookEvent
from hookline.services import inbox
from tests.conftest import DATABASE_URL


def event(tenant_id: int, key: str) -> dict:
    return {"tenant_id": tenant_id, "provider": "ghl", "event_type": "ContactCreate", "dedupe_key": key,
            "payload": {"webhookId": key}, "status": EventStatus.PENDING}


def stored_keys(tenant_id: int) -> list[str]:
    with tenant_session(tenant_id) as session:
        return sorted(session.scalars(select(WebhookEvent.dedupe_key).where(WebhookEvent.tenant_id == tenant_id)))


async def store_many(events: list[dict]) -> list[inbox.Stored]:
    async with await psycopg.AsyncConnection.connect(DATABASE_URL, autocommit=True) as conn:
        return await inbox.store_many_now(conn, events)


def test_one_statement_stores_rows_of_several_tenants_each_under_its_own(tenant, other_tenant):
    results = asyncio.run(store_many([event(tenant.id, "a"), event(other_tenant.id, "b"), event(tenant.id, "c")]))

    assert [result.created for result in results] == [True, True, True]
    assert len({result.event_id for result in results}) == 3
    assert stored_keys(tenant.id) == ["a", "c"]
    assert stored_keys(other_tenant.id) == ["b"]


def test_a_key_twice_in_one_batch_or_already_stored_is_a_duplicate_of_the_same_row(tenant):
    [first] = asyncio.run(store_many([event(tenant.id, "a")]))

    again, new, twin = asyncio.run(store_many([event(tenant.id, "a"), event(tenant.id, "b"), event(tenant.id, "b")]))

    assert (again.created, again.event_id, again.status) == (False, first.event_id, "pending")
    assert (new.created, twin.created, twin.event_id) == (True, False, new.event_id)
    assert stored_keys(tenant.id) == ["a", "b"]


def test_a_body_is_stored_as_sent_and_reads_back_as_its_parsed_payload(tenant):
    body = b'{"webhookId": "w-1", "amount": 1e-400, "big": 12345678901234567890123, "name": "Ren\\u00e9", "n": 1.50}'
    rows = [{**event(tenant.id, key), "body": body} for key in ("solo", "one", "two")]

    asyncio.run(store_many([rows[0]]))
    asyncio.run(store_many(rows[1:]))

    with tenant_session(tenant.id) as session:
        payloads = session.scalars(select(WebhookEvent.payload).where(WebhookEvent.tenant_id == tenant.id)).all()
    assert payloads == [json.loads(body)] * 3
    assert payloads[0]["name"] == "René" and payloads[0]["big"] == 12345678901234567890123


def test_the_batch_function_refuses_a_transaction_that_belongs_to_a_tenant(tenant, other_tenant):
    async def inside_a_tenant_transaction() -> None:
        async with await psycopg.AsyncConnection.connect(DATABASE_URL) as conn:
            await conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant.id),))
            await inbox.store_many_now(conn, [event(other_tenant.id, "x")])

    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        asyncio.run(inside_a_tenant_transaction())
    assert stored_keys(other_tenant.id) == []


def batch_rows() -> tuple[float, float]:
    return (REGISTRY.get_sample_value("hookline_ingress_inbox_batch_rows_count") or 0,
            REGISTRY.get_sample_value("hookline_ingress_inbox_batch_rows_sum") or 0)


async def store_together(writer: InboxWriter, deliveries: list[Delivery]) -> list:
    await writer.pool.open(wait=True)
    try:
        return await asyncio.gather(*(writer.store(delivery) for delivery in deliveries), return_exceptions=True)
    finally:
        await writer.close()


def delivery(tenant_id: int, key: str) -> Delivery:
    return Delivery(tenant_id, "ghl", "ContactCreate", key, {"webhookId": key})


def test_deliveries_arriving_together_share_statements_and_each_gets_its_own_row(tenant, other_tenant):
    writer = InboxWriter(get_settings().model_copy(update={"ingress_db_pool_size": 2}))  # one statement at a time
    deliveries = [delivery(tenant.id if n % 2 else other_tenant.id, f"k{n:02d}") for n in range(40)]
    count, rows = batch_rows()

    results = asyncio.run(store_together(writer, deliveries))

    assert all(stored.created and task == "hookline.tasks.ghl_sync.apply_event" for stored, task in results)
    assert len({stored.event_id for stored, _ in results}) == 40
    statements = batch_rows()[0] - count
    assert batch_rows()[1] - rows == 40 and statements < 40  # batched: fewer statements than deliveries
    assert stored_keys(tenant.id) == [f"k{n:02d}" for n in range(1, 40, 2)]
    assert stored_keys(other_tenant.id) == [f"k{n:02d}" for n in range(0, 40, 2)]


def test_a_row_the_database_refuses_fails_only_its_own_delivery(tenant):
    writer = InboxWriter(get_settings().model_copy(update={"ingress_db_pool_size": 2}))
    no_such_tenant = tenant.id + 1000  # no tenants row: its insert breaks the foreign key
    deliveries = [delivery(tenant.id, f"k{n}") for n in range(10)] + [delivery(no_such_tenant, "bad")]
    deliveries += [delivery(tenant.id, f"k{n}") for n in range(10, 20)]

    results = asyncio.run(store_together(writer, deliveries))

    failed = [result for result in results if isinstance(result, BaseException)]
    assert len(failed) == 1 and isinstance(failed[0], psycopg.errors.IntegrityError)
    assert isinstance(results[10], psycopg.errors.IntegrityError)
    assert stored_keys(tenant.id) == sorted(f"k{n}" for n in range(20))


@pytest.mark.parametrize(("writes", "statements"), [(1, 2), (3, 4)])
def test_at_most_the_configured_statements_are_in_flight_and_the_rest_wait_as_one(tenant, writes, statements):
    # The first inserts wait on a lock held on the tenant's row (their foreign-key check), so
    # every later delivery arrives while `writes` statements are in flight.
    writer = InboxWriter(get_settings().model_copy(update={"ingress_inbox_writes": writes}))
    count, rows = batch_rows()

    async def scenario() -> list:
        await writer.pool.open(wait=True)
        async with await psycopg.AsyncConnection.connect(DATABASE_URL) as holder:
            await holder.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant.id),))
            await holder.execute("SELECT 1 FROM tenants WHERE id = %s FOR UPDATE", (tenant.id,))
            stored = []
            for n in range(10):
                stored.append(asyncio.ensure_future(writer.store(delivery(tenant.id, f"k{n}"))))
                await asyncio.sleep(0.02)
            await holder.rollback()
        try:
            return await asyncio.gather(*stored)
        finally:
            await writer.close()

    results = asyncio.run(scenario())

    assert all(stored.created for stored, _ in results)
    assert batch_rows()[0] - count == statements  # `writes` alone, then everything that waited as one
    assert batch_rows()[1] - rows == 10
