"""Celery task messages for a Redis broker, made in microseconds instead of through `send_task`.

Celery (`create_task_message`, `send_task_message`) and kombu (`Producer.publish`, the Redis
channel) spend ~140 µs of Python on every message; at the ingress's rate that was a third of
its CPU. Almost all of a message is the same for every event of one task on one lane: the
protocol-2 headers Celery fills in, the routing, the properties. So the first message of each
(task, lane) is made by Celery itself (`create_task_message`, with the task's registered options
and the router's decision, as `send_task` would), and every later one copies it and fills in what
is new per message: the task id (also `root_id` and `correlation_id`), kombu's delivery tag, the
keyword arguments (body and `kwargsrepr`), the tenant and request headers and `published_at`
(what workers/app.py's `before_task_publish` handler stamps), with tracing on the request's
W3C `traceparent` (ingress/tracing.py; where Celery publishes, its instrumentation adds that header),
and for a task registered with `expires` (seconds) the moment it expires, from this message's publish.

What kombu's Redis channel then does to a message is written out here (`_encode`): the body
serialized as JSON and base64-encoded, `delivery_info`, and the list a priority goes to. The
result is the message `send_task` writes, field by field (tests/transport/test_publisher.py
compares the two, for both lanes, a priority, an expiring task and the embedded broker), and stock workers
consume it (tests/e2e).
"""

from __future__ import annotations

import base64
import json
import os
import time
from bisect import bisect
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from celery.utils.saferepr import saferepr
from celery.utils.time import add_seconds_to_datetime, maybe_make_aware
from kombu.transport.redis import Channel as RedisChannel

from hookline.transport import published
from hookline.transport.lanes import lane
from hookline.workers.tenancy import redacted

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Sequence

    import redis
    from celery import Celery

    from hookline.transport.publisher import Job

PLACEHOLDER = {"tenant_id": 0, "event_id": 0}


def registered_options(app: Celery, name: str) -> dict[str, Any]:
    """The execution options of task `name` if it is registered here (without finalizing the app)."""
    task = app._tasks.get(name)  # noqa: SLF001 - send_task looks here too; app.tasks would import every task module
    if task is None or not hasattr(task, "_get_exec_options"):
        return {}
    return {key: value for key, value in task._get_exec_options().items() if value is not None}  # noqa: SLF001 - as send_task


def routed_options(app: Celery, task: str, kwargs: dict[str, Any], bulk: bool) -> dict[str, Any]:
    """The publish options `send_task` would use for `task`: its registered options, the lane, the router."""
    options: dict[str, Any] = {**registered_options(app, task), **lane(task, bulk)}
    options.pop("ignore_result", None)
    return app.amqp.router.route(options, task, None, kwargs)


_PLAIN_KEYS: dict[tuple[str, ...], bool] = {}  # argument names → none of them is masked by `redacted`


def kwargs_repr(kwargs: dict[str, Any]) -> str:
    """`kwargsrepr` as workers/app.py's `before_task_publish` handler writes it: saferepr of the redacted kwargs.
    Of plain ints under names `redacted` leaves alone (every Job's) that is their repr, at a sixth of the cost."""
    names = tuple(kwargs)
    plain = _PLAIN_KEYS.get(names)
    if plain is None:
        plain = _PLAIN_KEYS[names] = redacted(dict.fromkeys(names, 0)) == dict.fromkeys(names, 0)
    if plain and all(type(value) is int for value in kwargs.values()):
        return repr(kwargs)
    return saferepr(redacted(kwargs))


def new_uuid() -> str:
    """A random (version 4) UUID as text, like `str(uuid.uuid4())` (celery.utils.uuid) at a third of its cost."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40
    raw[8] = raw[8] & 0x3F | 0x80
    hexed = raw.hex()
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"


# Set per message; everything else in a message is its prototype's.
PER_MESSAGE_HEADERS = {"id", "root_id", "kwargsrepr", "published_at", "tenant_id", "request_id", "traceparent",
                       "tracestate"}
PER_MESSAGE_PROPERTIES = {"correlation_id", "delivery_tag"}


def _members(mapping: dict[str, Any], leave_out: set[str]) -> str:
    """`mapping` (without `leave_out`) as the inside of a JSON object: rendered once, pasted into each message."""
    return json.dumps({key: value for key, value in mapping.items() if key not in leave_out})[1:-1]


@dataclass(frozen=True)
class Prototype:
    """What every message of one task on one lane shares, already rendered as JSON."""

    key: str  # the Redis list it is pushed onto
    start: str  # the message up to its body: '{"content-encoding": …, "content-type": …, "body": "'
    headers: str  # the shared headers, as JSON object members
    properties: str  # the shared properties, likewise
    embed: str  # the body's third part (callbacks, errbacks, chain, chord), as JSON
    expiry: Callable[[], str] | None = None  # the task's `expires` from now, as Celery writes it; None: never

    def message(self, task_id: str, kwargs: dict[str, Any], headers: dict[str, Any]) -> bytes:
        body = base64.b64encode(f"[[], {json.dumps(kwargs)}, {self.embed}]".encode()).decode("ascii")
        if self.expiry is not None:  # a moment of this message's own
            headers = {**headers, "expires": self.expiry()}
        mine = json.dumps({"id": task_id, "root_id": task_id, "kwargsrepr": kwargs_repr(kwargs), **headers,
                           "published_at": time.time()})[1:-1]
        ids = f'"correlation_id": "{task_id}", "delivery_tag": "{new_uuid()}"'  # hex and dashes: nothing to escape
        return (f'{self.start}{body}", "headers": {{{self.headers}, {mine}}}, '
                f'"properties": {{{self.properties}, {ids}}}}}').encode()


def _expiry(app: Celery, seconds: float) -> str:
    """`expires` seconds from now, as Celery's `create_task_message` writes it in the headers."""
    return maybe_make_aware(add_seconds_to_datetime(app.now(), seconds), tz=app.timezone).isoformat()


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
        return prototype.key, prototype.message(new_uuid(), job.kwargs, job.headers)

    def _prototype(self, task: str, bulk: bool) -> Prototype:
        app = self.app
        # Routed once per (task, lane): Hookline's routes (workers/routing.py) go by task name, never by arguments.
        options = routed_options(app, task, PLACEHOLDER, bulk)
        limits = {name: options.pop(name, None) for name in ("time_limit", "soft_time_limit")}
        expires = options.pop("expires", None)
        if expires is not None and not isinstance(expires, int | float):
            raise ValueError(f"{task}: only an `expires` in seconds is made here, not {expires!r}")
        # Without `expires`: Celery would turn it into this first message's moment, and every copy keep it.
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
        properties = {**properties, "delivery_mode": 2 if delivery_mode in (2, "persistent") else 1,
                      "delivery_info": {"exchange": "", "routing_key": queue_name},
                      "priority": priority, "body_encoding": "base64"}
        if expires is not None:  # send_task's `expiration` (kombu: milliseconds, as text)
            properties["expiration"] = str(int(max(expires, 0) * 1000))
        return Prototype(
            key=redis_list(queue_name, priority, app.conf.broker_transport_options or {}),
            start='{"content-encoding": "utf-8", "content-type": "application/json", "body": "',
            headers=_members(headers, PER_MESSAGE_HEADERS | ({"expires"} if expires is not None else set())),
            properties=_members(properties, PER_MESSAGE_PROPERTIES),
            embed=json.dumps(body[2]),
            expiry=None if expires is None else partial(_expiry, app, expires),
        )


def by_list(messages: TaskMessages, jobs: Iterable[Job], bulk: Collection[int] = ()) -> dict[str, list[bytes]]:
    """The jobs' messages by the list they go to, in order: one `LPUSH list m1 m2 …` each puts them
    where one LPUSH per message would (workers take from the other end, m1 first)."""
    lists: dict[str, list[bytes]] = {}
    for job in jobs:
        key, message = messages.encode(job, job.tenant_id in bulk)
        lists.setdefault(key, []).append(message)
    return lists


def queue_batch(pipe: Any, messages: TaskMessages, jobs: Sequence[Job], bulk: Collection[int] = ()) -> None:
    """Queue on a MULTI pipeline (sync or asyncio) the LPUSHes of the jobs' messages and their
    events' published bits (transport/published.py), so that both go in, or neither."""
    for key, queued in by_list(messages, jobs, bulk).items():
        pipe.lpush(key, *queued)
    published.mark(pipe, (event_id for job in jobs for event_id in job.events))


def push(client: redis.Redis, messages: TaskMessages, jobs: Sequence[Job], bulk: Collection[int] = ()) -> None:
    """Publish `jobs` in one round trip on a synchronous client (what the ingress's publisher does
    on its asyncio client; the benches and tests publish this way)."""
    with client.pipeline(transaction=True) as pipe:
        queue_batch(pipe, messages, jobs, bulk)
        pipe.execute()
