"""Fairness across tenants with a real ingress and a real worker: a flood does not hold up the others."""

from __future__ import annotations

import ast
import asyncio
import json
import uuid

import httpx
import pytest
from sqlalchemy import select

from hookline.db import tenant_session
from hookline.models import Contact, WebhookEvent
from tests.e2e.conftest import celery_worker
from tests.support.ingress import ingress
from tests.support.processes import wait_for
from tests.support.webhooks import encode, ghl_headers, payload

FLOOD, FEW, BURST, LATE = 2000, 5, 50, 100
QUEUES = ["ghl_sync", "ghl_sync.bulk"]


@pytest.fixture(scope="module")
def fair_ingress(database, tmp_path_factory) -> str:
    with ingress(tmp_path_factory.mktemp("ingress") / "ingress.log", HOOKLINE_FAIRNESS_BURST=str(BURST),
                 HOOKLINE_TENANT_RATE_LIMIT="0") as url:
        yield url


def delivery(location: str, label: str) -> tuple[bytes, dict[str, str]]:
    raw = encode(payload("ghl/ContactCreate.json", locationId=location, webhookId=str(uuid.uuid4()),
                         id=f"ct-{label}", email=f"{label}@example.com"))
    return raw, ghl_headers(raw)


async def post_all(url: str, deliveries: list[tuple[bytes, dict[str, str]]]) -> list[int]:
    """POST every delivery, 16 at a time; the inbox event ids, in the order given."""
    gate = asyncio.Semaphore(16)
    async with httpx.AsyncClient(timeout=60) as client:
        async def post(raw: bytes, headers: dict[str, str]) -> int:
            async with gate:
                response = await client.post(f"{url}/webhooks/ghl", content=raw, headers=headers)
            assert response.status_code == 202, response.text
            return response.json()["event_id"]

        return list(await asyncio.gather(*(post(raw, headers) for raw, headers in deliveries)))


def carried(broker, queue: str) -> list[tuple[int, int]]:
    """(tenant, event id) of every inbox event the messages waiting in `queue` carry (a batch carries many)."""
    events = []
    for raw in broker.lrange(queue, 0, -1):
        kwargs = ast.literal_eval(json.loads(raw)["headers"]["kwargsrepr"])
        events += [(kwargs["tenant_id"], event_id) for event_id in kwargs.get("event_ids") or [kwargs["event_id"]]]
    return events


def processed(tenant_id: int) -> list[tuple]:
    with tenant_session(tenant_id) as session:
        return session.execute(select(WebhookEvent.id, WebhookEvent.processed_at).where(
            WebhookEvent.tenant_id == tenant_id, WebhookEvent.status == "processed")).all()


def test_a_tenants_flood_does_not_hold_up_another_tenant(fair_ingress, redis_client, tenant, other_tenant,
                                                         tmp_path):
    flooder, quiet = tenant, other_tenant
    redis_client.delete(*QUEUES, f"hookline:fair:hot:{quiet.id}")  # the session's Redis: no mark from earlier tests
    # Everything is queued before the worker starts, B's last: a FIFO queue would run B's events
    # after all of A's. The ingress publishes A's events past the burst to the bulk lane.
    asyncio.run(post_all(fair_ingress, [delivery("loc-sunny-001", f"a-{i}") for i in range(FLOOD)]))
    quiet_ids = asyncio.run(post_all(fair_ingress, [delivery("loc-callcentre-002", f"b-{i}") for i in range(FEW)]))
    wait_for(lambda: sum(len(carried(redis_client, queue)) for queue in QUEUES) == FLOOD + FEW,
             what="every event published")
    bulk = carried(redis_client, "ghl_sync.bulk")
    assert {tenant_id for tenant_id, _ in bulk} == {flooder.id}  # only the flooder's events, and most of them
    # Routing is one publisher batch late (transport/lanes.py, known_hot): at 16 requests in flight a
    # batch carries a few dozen events; LATE bounds that batch.
    assert len(bulk) >= FLOOD - BURST - LATE
    assert len(carried(redis_client, "ghl_sync")) <= BURST + LATE + FEW

    # Told to consume ghl_sync only: the worker adds its bulk lane itself.
    with celery_worker(["ghl_sync"], tmp_path / "worker.log", empty=False) as worker:
        wait_for(lambda: len(processed(flooder.id)) == FLOOD and len(processed(quiet.id)) == FEW,
                 timeout=600, what="the flood drained")

    flood_times = sorted(moment for _, moment in processed(flooder.id))
    quiet_times = {event_id: moment for event_id, moment in processed(quiet.id)}
    assert set(quiet_times) == set(quiet_ids)
    # B's position: how many of A's events ran before it. FIFO would make that all 2,000.
    positions = [sum(moment < quiet_moment for moment in flood_times) for quiet_moment in quiet_times.values()]
    assert max(positions) < FLOOD // 5, positions

    # Exactly once: every event of both tenants upserted by one task run, never skipped as a twin.
    runs = [json.loads(line) for line in worker.lines() if line.startswith("{")]
    upserted = [line["event_id"] for line in runs if line.get("event") == "ghl.event.applied"]
    upserted += [event_id for line in runs if line.get("event") == "ghl.events.batch" for event_id in line["event_ids"]]
    assert len(upserted) == len(set(upserted)) == FLOOD + FEW
    assert not [line for line in runs if line.get("event") == "ghl.event.skipped" or line.get("skipped")]
    with tenant_session(flooder.id) as session:
        external_ids = session.scalars(select(Contact.external_id).where(Contact.tenant_id == flooder.id)).all()
    assert sorted(external_ids) == sorted(f"ct-a-{i}" for i in range(FLOOD))
