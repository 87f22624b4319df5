"""`hookline metrics-exporter`: the workers' figures (prometheus-client multiprocess files) plus a
collector that reads queue depths and the inbox backlog at scrape time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from hookline.workers import backlog

if TYPE_CHECKING:
    from celery import Celery

log = structlog.get_logger(__name__)


class BacklogCollector:
    """Gauges computed when Prometheus scrapes; a source that does not answer reports `up` 0."""

    def __init__(self, app: Celery) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("hookline_monitor_source_up", "Whether the exporter could read the source",
                               labels=["source"])
        depth = GaugeMetricFamily("hookline_queue_depth", "Messages waiting in a queue", labels=["queue"])
        age = GaugeMetricFamily("hookline_queue_oldest_message_age_seconds",
                                "Age of the oldest waiting message (Redis broker; 0 when the queue is empty)",
                                labels=["queue"])
        try:
            for state in backlog.queue_states(self.app):
                depth.add_metric([state.name], state.depth)
                age.add_metric([state.name], state.oldest_age or 0.0)
            up.add_metric(["broker"], 1)
        except Exception as exc:  # noqa: BLE001 - the broker is down: say so, serve the rest
            log.warning("metrics.broker_unreadable", error=repr(exc))
            up.add_metric(["broker"], 0)
        yield from (depth, age)
        yield from self._tenants(up)
        yield up

    def _tenants(self, up: GaugeMetricFamily) -> Iterator[Metric]:
        pending = GaugeMetricFamily("hookline_inbox_pending", "Inbox events waiting to be processed",
                                    labels=["tenant"])
        oldest = GaugeMetricFamily("hookline_inbox_oldest_pending_age_seconds",
                                   "Age of the oldest pending inbox event (0 when none)", labels=["tenant"])
        failed = GaugeMetricFamily("hookline_task_runs_failed_last_hour", "Task runs that failed in the last hour",
                                   labels=["tenant"])
        dead = GaugeMetricFamily("hookline_dead_letters", "Rows in dead_letters (only when that table exists)",
                                 labels=["tenant"])
        try:
            rows = backlog.tenant_health()
            up.add_metric(["database"], 1)
        except Exception as exc:  # noqa: BLE001 - the database is down: say so, serve the rest
            log.warning("metrics.database_unreadable", error=repr(exc))
            up.add_metric(["database"], 0)
            return
        now = time.time()
        for row in rows:
            tenant = str(row.tenant_id)
            pending.add_metric([tenant], row.inbox_pending)
            oldest.add_metric([tenant], now - row.oldest_pending.timestamp() if row.oldest_pending else 0.0)
            failed.add_metric([tenant], row.runs_failed)
            if row.dead_letters is not None:
                dead.add_metric([tenant], row.dead_letters)
        yield from (pending, oldest, failed)
        if any(row.dead_letters is not None for row in rows):
            yield dead


def registry(app: Celery, multiprocess_dir: str) -> CollectorRegistry:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=multiprocess_dir)
    registry.register(BacklogCollector(app))
    return registry
