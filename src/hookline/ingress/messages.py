"""Celery task messages for a Redis broker, made in microseconds instead of through `send_task`.

Celery (`create_task_message`, `send_task_message`) and kombu (`Producer.publish`, the Redis
channel) spend ~140 µs of Python on every message; at the ingress's rate that was a third of
its CPU. Almost all of a message is the same for every event of one task on one lane: the
protocol-2 headers Celery fills in, the routing, the properties. So the first message of each
(task, lane) is made by Celery itself (`create_task_message`, with the task's registered options
and the router's decision, as `send_task` would), and every later one copies it and fills in what
is new per message: the task id (also `root_id` and `correlation_id`), kombu's delivery tag, the
keyword arguments (body and `kwargsrepr`), the tenant and request headers and `published_at`
(what workers/app.py's `before_task_publish` handler stamps).

What kombu's Redis channel then does to a message is written out here (`_encode`): the body
serialized as JSON and base64-encoded, `delivery_info`, and the list a priority goes to. The
result is the message `send_task` writes, field by field (tests/ingress/test_publisher.py
compares the two, for both lanes, a priority and the embedded broker), and stock workers
consume it (tests/e2e).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from bisect import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from celery.utils.saferepr import saferepr
from kombu.transport.redis import Channel as RedisChannel

from hookline.workers.fairness import lane
from hookline.workers.tenancy import redacted

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable

    import redis
    from celery import Celery

    from hookline.ingress.publisher import Job

PLACEHOLDER = {"tenant_id": 0, "event_id": 0}


def registered_options(app: Celery, name: str) -> dict[str, Any]:
    """The execution options of task `name` if it is registered here (without finalizing the app)."""
    task = app._tasks.get(name)  # noqa: SLF001 - send_task looks here too; app.tasks would import every task module
    if task is None or not hasattr(task, "_get_exec_options"):
        return {}
    return {key: value for key, value in task._get_exec_options().items() if value is not None}


def routed_options(app: Celery, task: str, kwargs: dict[str, Any], bulk: bool) -> dict[str, Any]:
    """The publish options `send_task` would use for `task`: its registered options, the lane, the router."""
    options: dict[str, Any] = {**registered_options(app, task), **lane(task, bulk)}
    options.pop("ignore_result", None)
    return app.amqp.router.route(options, task, None, kwargs)


def kwargs_repr(kwargs: dict[str, Any]) -> str:
    """`kwargsrepr` as workers/app.py's `before_task_publish` handler writes it: saferepr of the redacted kwargs.
    Of plain ints (every Job's) that is their repr, at a sixth of saferepr's ~19 µs."""
    shown = redacted(kwargs)
    return repr(shown) if all(type(value) is int for value in shown.values()) else saferepr(shown)


@dataclass(frozen=True)
class Prototype:
    """What every message of one task on one lane shares."""

    key: str  # the Redis list it is pushed onto
    headers: dict[str, Any]
    properties: dict[str, Any]
    embed: dict[str, Any]  # the body's third part: callbacks, errbacks, chain, chord
    content_type: str
    content_encoding: str


def redis_list(queue: str, priority: int, transport_options: dict[str, Any]) -> str:
    """The list kombu's Redis channel keeps `queue`'s messages of `priority` in (`Channel._q_for_pri`)."""
    steps = transport_options.get("priority_steps", RedisChannel.priority_steps)
    sep = transport_options.get("sep", RedisChannel.sep)
    step = steps[bisect(steps, max(0, min(int(priority), 255))) - 1]
    return f"{queue}{sep}{step}" if step else queue


class TaskMessages:
    """Encodes jobs as Redis task messages; one prototype per (task, lane), made on first use."""

    def __init__(self, app: Celery) -> None:
        self.app = app
        self._prototypes: dict[tuple[str, bool], Prototype] = {}

    def encode(self, job: Job, bulk: bool) -> tuple[str, bytes]:
        """The Redis list and the message to LPUSH onto it for `job`'s task."""
        prototype = self._prototypes.get((job.task, bulk))
        if prototype is None:
            prototype = self._prototypes[(job.task, bulk)] = self._prototype(job.task, bulk)
        task_id = str(uuid.uuid4())
        kwargs = job.kwargs
        headers = {**prototype.headers, "id": task_id, "root_id": task_id, "kwargsrepr": kwargs_repr(kwargs),
                   **job.headers, "published_at": time.time()}
        properties = {**prototype.properties, "correlation_id": task_id, "delivery_tag": str(uuid.uuid4())}
        body = json.dumps([[], kwargs, prototype.embed]).encode(prototype.content_encoding)
        message = {"body": base64.b64encode(body).decode("ascii"), "content-encoding": prototype.content_encoding,
                   "content-type": prototype.content_type, "headers": headers, "properties": properties}
        return prototype.key, json.dumps(message).encode()

    def _prototype(self, task: str, bulk: bool) -> Prototype:
        app = self.app
        options = routed_options(app, task, PLACEHOLDER, bulk)
        limits = {name: options.pop(name, None) for name in ("time_limit", "soft_time_limit", "expires")}
        headers, properties, body, _ = app.amqp.create_task_message(
            "placeholder", task, None, PLACEHOLDER, reply_to=app.thread_oid, ignore_result=None,
            create_sent_event=False, **limits, **options)
        queue = options["queue"]
        queue_name = queue if isinstance(queue, str) else queue.name
        exchange = getattr(queue, "exchange", None)
        if app.conf.task_serializer != "json" or app.conf.task_compression or (exchange and exchange.type != "direct"):
            raise ValueError(f"{task}: only JSON, uncompressed, direct-exchange messages are made here")
        priority = options.get("priority") or 0
        delivery_mode = getattr(exchange, "delivery_mode", None) or app.conf.task_default_delivery_mode
        # As send_task_message and kombu's Producer.publish and Channel.prepare_message/basic_publish set them.
        properties = {**properties, **{key: value for key, value in options.items() if key == "priority"},
                      "delivery_mode": 2 if delivery_mode in (2, "persistent") else 1,
                      "delivery_info": {"exchange": "", "routing_key": queue_name},
                      "priority": priority, "body_encoding": "base64"}
        return Prototype(
            key=redis_list(queue_name, priority, app.conf.broker_transport_options or {}),
            headers=headers, properties=properties, embed=body[2],
            content_type="application/json", content_encoding="utf-8",
        )


def push(client: redis.Redis, messages: TaskMessages, jobs: Iterable[Job], bulk: Collection[int] = ()) -> None:
    """Publish `jobs` in one pipelined round trip on a synchronous client (what the ingress's
    publisher does on its asyncio client; the benches and tests publish this way)."""
    with client.pipeline(transaction=False) as pipe:
        for job in jobs:
            pipe.lpush(*messages.encode(job, job.tenant_id in bulk))
        pipe.execute()
