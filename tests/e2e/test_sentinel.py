"""Redis Sentinel end to end: the ingress publishes its fast way through Sentinel, a real worker
consumes, and after the primary is SIGKILLed and its replica promoted both carry on; the relay
publishes what the failover lost, so no acknowledged webhook is missing."""

import uuid

import httpx
import pytest
from celery import Celery
from sqlalchemy import func, select

from hookline.db import tenant_session
from hookline.models import Contact, WebhookEvent
from hookline.redis_clients import broker_transport_options
from hookline.workers.app import app
from tests.support.ingress import ingress
from tests.support.processes import wait_for
from tests.support.sentinel import MASTER
from tests.support.webhooks import encode, ghl_headers, payload
from tests.support.workers import celery_worker


@pytest.fixture()
def sentinel_app(sentinels):
    """A Celery app on the cluster, for what the test sends the worker (pings, the relay)."""
    control = Celery("sentinel-control", broker=sentinels.url(), task_queues=app.conf.task_queues,
                     task_routes=app.conf.task_routes, broker_transport_options={
                         **app.conf.broker_transport_options, **broker_transport_options(sentinels.url(), MASTER)})
    yield control
    control.close()


def post(url: str, tenant_id: int, count: int) -> list[int]:
    """Post `count` distinct ContactCreate webhooks; their event ids (every one answered 202)."""
    event_ids = []
    for _ in range(count):
        contact = f"ct-{uuid.uuid4().hex[:12]}"
        raw = encode(payload("ghl/ContactCreate.json", webhookId=str(uuid.uuid4()), id=contact))
        response = httpx.post(f"{url}/webhooks/ghl", content=raw, headers=ghl_headers(raw), timeout=30)
        assert response.status_code == 202, response.text
        event_ids.append(response.json()["event_id"])
    return event_ids


def processed(tenant_id: int, event_ids: list[int]) -> int:
    with tenant_session(tenant_id) as session:
        return session.scalar(select(func.count()).where(
            WebhookEvent.tenant_id == tenant_id, WebhookEvent.id.in_(event_ids), WebhookEvent.status == "processed"))


def test_ingress_and_worker_carry_on_through_a_sentinel_failover(sentinels, sentinel_app, tenant, tmp_path):
    # The broker on db 0, Hookline's own keys (rate limits, fairness, counters) on db 2: both through the Sentinels.
    env = {**sentinels.env(db=0), "HOOKLINE_REDIS_URL": sentinels.url(db=2)}
    with celery_worker(tmp_path / "worker.log", queues="ghl_sync,maintenance", control=sentinel_app, **env), \
            ingress(tmp_path / "ingress.log", **env) as url:
        before = post(url, tenant.id, 20)
        wait_for(lambda: processed(tenant.id, before) == 20, timeout=60, what="the first webhooks to be processed")
        # The fast path (LPUSH + published bits in one MULTI), not Celery's own publishing.
        assert '"sender": "redis"' in (tmp_path / "ingress.log").read_text()
        assert sentinels.node(sentinels.primary_port()).exists("hookline:published:0")  # the bits, in the broker's db
        assert sentinels.node(sentinels.primary_port(), db=2).keys("hookline:*")  # the rate limit's counters

        old = sentinels.kill_primary()
        try:
            during = post(url, tenant.id, 10)  # acknowledged while the broker has no primary
            sentinels.wait_for_failover(old)
            after = post(url, tenant.id, 20)

            # Published after the failover by the same ingress, taken by the same worker: no relay needed.
            wait_for(lambda: processed(tenant.id, after) == 20, timeout=90, what="the webhooks after the failover")
            # What the failover lost (published to the dead primary, or not published), the relay publishes.
            sentinel_app.send_task("hookline.tasks.maintenance.relay_unpublished", kwargs={"older_than_seconds": 0})
            wait_for(lambda: processed(tenant.id, during) == 10, timeout=90, what="the relayed webhooks")
        finally:
            sentinels.restore(old)

    acknowledged = before + during + after
    assert processed(tenant.id, acknowledged) == 50
    with tenant_session(tenant.id) as session:
        assert session.scalar(select(func.count()).select_from(Contact).where(Contact.tenant_id == tenant.id)) == 50
