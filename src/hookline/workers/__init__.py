"""The Celery app, its queues and routing, and the tenant-tagged base task."""
