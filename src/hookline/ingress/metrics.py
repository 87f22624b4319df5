"""Prometheus metrics of the ingress, served as text on GET /metrics.

One process's figures: run several uvicorn workers and each exposes its own (scrape each, or
set PROMETHEUS_MULTIPROC_DIR, which prometheus-client supports).
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

REQUESTS = Counter("hookline_ingress_requests_total", "Webhook requests answered, by route and status",
                   ["route", "status"])
INBOX_INSERT_SECONDS = Histogram("hookline_ingress_inbox_insert_seconds", "Time to store and commit one inbox row",
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
INBOX_BATCH_ROWS = Histogram("hookline_ingress_inbox_batch_rows", "Deliveries stored by one inbox statement",
                             buckets=(1, 2, 4, 8, 16, 32, 64))
PUBLISH_BATCH_JOBS = Histogram("hookline_ingress_publish_batch_jobs", "Events published by one broker round trip",
                               buckets=(1, 2, 4, 8, 16, 32, 64, 128, 200))
PUBLISH_FAILURES = Counter("hookline_ingress_publish_failures_total",
                           "Events committed but not published (the relay publishes them later)", ["provider"])

PUBLISH_PENDING = Gauge("hookline_ingress_publish_pending",
                        "Committed events queued in this process for publishing, or being published")


async def metrics(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
