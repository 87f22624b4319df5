"""Counters that any part of Hookline may count into; integration clients import these.

External API calls and rate-limit answers, by provider. A worker child counts them into
prometheus-client's multiprocess files when PROMETHEUS_MULTIPROC_DIR is set, and
`hookline metrics-exporter` serves the sum (docs/architecture.md, "Metrics").
"""

from __future__ import annotations

from prometheus_client import Counter

EXTERNAL_API_CALLS = Counter("hookline_external_api_calls_total", "Requests made to external APIs, by answer class",
                             ["provider", "outcome"])  # outcome: 2xx, 4xx, 5xx, 429, error (no answer)
EXTERNAL_API_RATE_LIMITED = Counter("hookline_external_api_rate_limited_total",
                                    "External API answers 429 (rate limited), by provider", ["provider"])


def count_api_call(provider: str, status: int | None) -> None:
    """Count one external request: `status` is the HTTP status, None when no answer came (timeout, reset)."""
    if status is None:
        outcome = "error"
    elif status == 429:
        outcome = "429"
        EXTERNAL_API_RATE_LIMITED.labels(provider).inc()
    else:
        outcome = f"{status // 100}xx"
    EXTERNAL_API_CALLS.labels(provider, outcome).inc()
