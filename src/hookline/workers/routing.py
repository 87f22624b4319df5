"""Queue topology: every queue of the map, and routing by task module (module name == queue name)."""

from kombu import Exchange, Queue

QUEUES = ("webhooks", "ghl_sync", "reonic_sync", "email", "audio_upload", "dunning", "reports", "maintenance")

# Long tasks: a worker serving these should run with --prefetch-multiplier=1 (see Procfile).
LONG_QUEUES = ("audio_upload", "reports")

task_queues = tuple(Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES)
task_routes = {f"hookline.tasks.{queue}.*": {"queue": queue, "routing_key": queue} for queue in QUEUES}
