"""What is waiting: queue depths and ages from the broker, inbox backlog and failures from PostgreSQL.

Read at scrape time by `hookline metrics-exporter` and by `hookline status`; nothing is stored.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from hookline.db import global_session
from hookline.workers.routing import EVERY_QUEUE

if TYPE_CHECKING:
    from celery import Celery


@dataclass(frozen=True)
class QueueState:
    name: str
    depth: int
    oldest_age: float | None  # seconds since the oldest waiting message was published; None: empty or unknown


@dataclass(frozen=True)
class TenantHealth:
    tenant_id: int
    inbox_pending: int
    oldest_pending: datetime | None
    runs_failed: int  # task runs that failed since the `since` asked for
    dead_letters: int | None  # None: there is no dead_letters table (yet)


def queue_states(app: Celery, queues: tuple[str, ...] = EVERY_QUEUE, *, now: float | None = None) -> list[QueueState]:
    """Every queue's depth; on Redis also the age of its oldest message (LLEN and LINDEX -1, one pipeline)."""
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        if not hasattr(channel, "priority_steps"):  # not Redis: the broker counts, ages are not kept
            return [QueueState(name, channel.queue_declare(queue=name, passive=True).message_count, None)
                    for name in queues]
        # kombu keeps priority 0 in the queue's own list and the others in "<queue>\x06\x16<step>";
        # it pushes on the left and takes from the right, so the oldest message is at index -1.
        lists = {name: [channel._q_for_pri(name, step) for step in channel.priority_steps] for name in queues}  # noqa: SLF001
        pipe = channel.client.pipeline(transaction=False)
        for names in lists.values():
            for key in names:
                pipe.llen(key)
                pipe.lindex(key, -1)
        answers = iter(pipe.execute())
    now = time.time() if now is None else now
    states = []
    for name, names in lists.items():
        depth, ages = 0, []
        for _ in names:
            depth += next(answers)
            age = _age(next(answers), now)
            if age is not None:
                ages.append(age)
        states.append(QueueState(name, depth, max(ages) if ages else None))
    return states


def _age(raw: bytes | None, now: float) -> float | None:
    """Seconds since a raw kombu message was published (its `published_at` header), if it says."""
    if raw is None:
        return None
    try:
        headers: dict[str, Any] = json.loads(raw).get("headers") or {}
    except (ValueError, AttributeError):
        return None
    published = headers.get("published_at")
    return max(0.0, now - float(published)) if isinstance(published, (int, float)) else None


def tenant_health(since: timedelta = timedelta(hours=1)) -> list[TenantHealth]:
    """Per tenant: inbox backlog, failed task runs since `since` ago, dead letters (if that table exists).

    One statement (`hookline_tenant_health`, migration 0008) reads tenant by tenant under
    row-level security and returns counts only.
    """
    moment = datetime.now(timezone.utc) - since
    with global_session() as session:
        rows = session.execute(text("SELECT * FROM hookline_tenant_health(:since)"), {"since": moment}).all()
    return [TenantHealth(*row) for row in rows]
