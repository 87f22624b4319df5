"""Queue topology: every queue of the map, and routing by task module (module name == queue name)."""

import re
from typing import Any

import structlog
from kombu import Exchange, Queue
from kombu.transport.native_delayed_delivery import MAX_NUMBER_OF_BITS_TO_USE

log = structlog.get_logger(__name__)

QUEUES = ("webhooks", "ghl_sync", "reonic_sync", "email", "audio_upload", "dunning", "reports", "maintenance")

# Queues of per-event tenant work, each with a `<queue>.bulk` lane for a tenant's flood
# (transport/lanes.py): a worker consuming one of these consumes its bulk lane too.
FAIR_QUEUES = ("webhooks", "ghl_sync", "reonic_sync")

# Long tasks: a worker serving these should run with --prefetch-multiplier=1 (see Procfile).
LONG_QUEUES = ("audio_upload", "reports")

# RabbitMQ's native delayed delivery (a countdown on quorum queues) prefixes a message's routing
# key with its delay in binary, one bit per word: "0.1.….ghl_sync".
_DELAY_PREFIX = re.compile(r"^(?:[01]\.){%d}" % MAX_NUMBER_OF_BITS_TO_USE)  # noqa: UP031 - {} are the regex's


def bulk_queue(queue: str) -> str:
    return f"{queue}.bulk"


def is_bulk_queue(queue: str) -> bool:
    return queue.endswith(bulk_queue(""))


# Every queue a message can wait in: the map's, and the bulk lanes.
EVERY_QUEUE = (*QUEUES, *map(bulk_queue, FAIR_QUEUES))


# What `celery worker --lanes` takes (workers/app.py).
LANES = ("all", "main", "bulk")


def select_lanes(queues: Any, lanes: str) -> None:
    """Of each tenant-event queue a worker consumes (Celery's `app.amqp.queues`, after `-Q`), serve
    `lanes`: "all" adds its bulk lane, "main" leaves the main lane alone, "bulk" swaps the main lane
    for its bulk lane."""
    if lanes not in LANES:
        raise ValueError(f"lanes must be one of {', '.join(LANES)}, not {lanes!r}")
    consumed = queues.consume_from or {}
    for name in [name for name in FAIR_QUEUES if name in consumed]:
        if lanes == "main":
            queues.deselect(bulk_queue(name))  # without -Q a worker would consume every queue
            continue
        queues.select_add(queues[bulk_queue(name)])
        if lanes == "bulk":
            queues.deselect(name)


def queue_of(task_name: str) -> str:
    """`hookline.tasks.<queue>.<task>` → `<queue>`."""
    return task_name.rsplit(".", 2)[-2] if task_name.count(".") >= 2 else ""


def delivered_from(routing_key: str) -> str:
    """The queue a message was routed to, from its routing key (without a delayed delivery's prefix)."""
    return _DELAY_PREFIX.sub("", routing_key, count=1)


def task_queues_for(broker_url: str) -> tuple[Queue, ...]:
    """Every queue, declared for `broker_url`'s broker.

    On RabbitMQ they are quorum queues (replicated across the cluster's nodes by Raft; they survive
    losing a node) behind topic exchanges: Celery delays a countdown or ETA task there with
    RabbitMQ's native delayed delivery, which cannot route through direct exchanges, instead of
    holding it in a worker (quorum queues have no global QoS to make room for held messages).
    Redis keeps direct exchanges: its messages are routed by the queue name alone.
    """
    rabbitmq = broker_url.startswith(("amqp://", "amqps://"))
    exchange_type = "topic" if rabbitmq else "direct"
    arguments = {"x-queue-type": "quorum"} if rabbitmq else None
    return tuple(Queue(name, Exchange(name, type=exchange_type), routing_key=name, queue_arguments=arguments)
                 for name in EVERY_QUEUE)


task_routes = {f"hookline.tasks.{queue}.*": {"queue": queue, "routing_key": queue} for queue in QUEUES}


def declare_every_queue(app: Any) -> None:
    """On RabbitMQ, declare every queue of the map (idempotent); other brokers need nothing.

    A worker's native delayed delivery binds every queue of the map to its delay exchanges when
    it connects, and can bind only a queue that exists. Without this, a queue that no worker had
    consumed yet stayed unbound (Celery logs "Native delayed delivery will not be available"), and a
    countdown task for it was dropped when due: a delayed message is published without declaring
    its queue.
    """
    try:
        with app.connection_for_write() as connection:
            if connection.transport.driver_type != "amqp":
                return
            connection.ensure_connection(max_retries=3)
            for queue in app.conf.task_queues:
                queue.bind(connection.default_channel).declare()
    except Exception as exc:  # noqa: BLE001 - the broker is down: the consumer retries connecting; each worker then binds its own
        log.warning("broker.declare_failed", error=repr(exc))
