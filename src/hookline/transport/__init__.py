"""Publishing work, and recording that it went out. Everything else calls this package (beat's
schedule and `worker-check`'s canary aside: Celery publishes those itself).

- `publish.py`: `publish` (a tenant's task, now), `publish_after_commit` (once a session commits),
  `publish_system` (a task with no tenant: the Marketplace installs').
- `headers.py`: `tenant_headers`, and `task_options`, what TenantTask.apply_async publishes with.
- `publisher.py`: the ingress's batching publisher (`Publisher`, `Job`) and its two senders:
  `RedisSender` (hand-made messages, one MULTI per batch) and `CelerySender` (any other broker).
- `messages.py`: the hand-made Celery messages (tests/transport/test_publisher.py compares them
  field by field with Celery's own).
- `published.py`: the records of what went out: the bits in a Redis broker, `published_at` in the inbox.
- `relay.py`: the relay's and the sweeper's reads: inbox rows never published, or published long ago.
- `lanes.py`: lane choice: a flooding tenant's tasks go to `<queue>.bulk`.
"""
