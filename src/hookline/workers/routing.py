"""Queue topology: every queue of the map, and routing by task module (module name == queue name)."""

from kombu import Exchange, Queue

QUEUES = ("webhooks", "ghl_sync", "reonic_sync", "email", "audio_upload", "dunning", "reports", "maintenance")

# Queues of per-event tenant work, each with a `<queue>.bulk` lane for a tenant's flood
# (workers/fairness.py): a worker consuming one of these consumes its bulk lane too.
FAIR_QUEUES = ("webhooks", "ghl_sync", "reonic_sync")

# Long tasks: a worker serving these should run with --prefetch-multiplier=1 (see Procfile).
LONG_QUEUES = ("audio_upload", "reports")


def bulk_queue(queue: str) -> str:
    return f"{queue}.bulk"


def queue_of(task_name: str) -> str:
    """`hookline.tasks.<queue>.<task>` → `<queue>`."""
    return task_name.rsplit(".", 2)[-2] if task_name.count(".") >= 2 else ""


task_queues = tuple(Queue(name, Exchange(name, type="direct"), routing_key=name)
                    for name in (*QUEUES, *map(bulk_queue, FAIR_QUEUES)))
task_routes = {f"hookline.tasks.{queue}.*": {"queue": queue, "routing_key": queue} for queue in QUEUES}
