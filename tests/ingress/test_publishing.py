"""The ingress picks its sender by broker and publishes from its event loop (the senders: tests/transport)."""

from __future__ import annotations

from hookline.config import get_settings
from hookline.ingress.app import sender
from hookline.ingress.inbox_writer import InboxWriter
from hookline.transport.publisher import CelerySender, RedisSender
from tests.conftest import REDIS_URL
from tests.ingress.conftest import log_lines
from tests.support.webhooks import encode, ghl_headers, payload


def test_a_redis_broker_gets_the_asyncio_sender_and_any_other_celerys():
    # No connection is made: the broker URL alone decides.
    settings = get_settings()
    inbox = InboxWriter(settings)  # its pool opens only when the app starts
    assert isinstance(sender(settings.model_copy(update={"broker_url": REDIS_URL}), inbox)[0], RedisSender)
    assert isinstance(sender(settings.model_copy(update={"broker_url": "amqp://guest:guest@127.0.0.1:5672//"}),
                             inbox)[0], CelerySender)


def test_the_ingress_publishes_on_redis_from_its_event_loop(client, tenant, ingress_log, queue):
    raw = encode(payload("ghl/ContactCreate.json"))

    client.post("/webhooks/ghl", content=raw, headers=ghl_headers(raw))

    assert len(queue()) == 1
    assert [line["sender"] for line in log_lines(ingress_log, "ingress.publisher.mode")] == ["redis"]
