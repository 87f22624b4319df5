"""The console's reads at size: event search, an event's timeline and the tenants page, over
1,000,000 inbox rows and 5,000,000 task runs spread over 30 days and 20 tenants.

Prints the median and worst of a few runs of each read, in milliseconds, through the console's
own functions (console/queries.py), as the non-superuser role row-level security binds. Asserts
nothing. Filling the tables takes a few minutes; `--events 100000 --runs-per-event 5` for a quick look.

    uv run python bench/console_search.py [--events 1000000] [--runs-per-event 5] [--tenants 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import datetime, timedelta, timezone

from database import admin, bench_database  # bench/database.py

REPEAT = 5

EVENTS = """
INSERT INTO webhook_events (tenant_id, provider, event_type, dedupe_key, payload, status, attempts, last_error,
                            received_at, published_at, processed_at)
SELECT t.id, 'ghl', (ARRAY['ContactCreate', 'ContactUpdate', 'OpportunityCreate', 'NoteCreate'])[1 + n %% 4],
       'evt-' || n, jsonb_build_object('id', 'ct-' || n, 'email', 'p' || n || '@example.com', 'locationId', 'loc'),
       CASE WHEN n %% 100 = 0 THEN 'failed' WHEN n %% 1000 = 1 THEN 'pending' ELSE 'processed' END, 1,
       CASE WHEN n %% 100 = 0 THEN 'GHL 422' END, at, at, at + interval '1 second'
FROM generate_series(1, %(events)s) AS n
CROSS JOIN LATERAL (SELECT now() - (1 - n::float / %(events)s) * interval '30 days' AS at) AS moment
JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM tenants) AS t ON t.k = n %% %(tenants)s
"""
RUNS = """
INSERT INTO task_runs (tenant_id, task, queue, task_id, event_id, state, attempt, started_at, finished_at,
                       runtime_seconds, error)
SELECT e.tenant_id, 'hookline.tasks.ghl_sync.apply_event', 'ghl_sync', 't-' || e.id, e.id,
       CASE WHEN a < %(per)s THEN 'retried' WHEN e.status = 'failed' THEN 'failed' ELSE 'succeeded' END, a,
       e.received_at + a * interval '1 second', e.received_at + a * interval '1 second', 0.01,
       CASE WHEN a < %(per)s THEN 'TransientError: 503' END
FROM webhook_events e CROSS JOIN generate_series(1, %(per)s) AS a
"""


def timed(read) -> tuple[float, float]:  # noqa: ANN001
    read()  # warm: connection, plans, cache
    spent = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        read()
        spent.append((time.perf_counter() - started) * 1000)
    return statistics.median(spent), max(spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs-per-event", type=int, default=5)
    parser.add_argument("--tenants", type=int, default=20)
    args = parser.parse_args()

    os.environ["HOOKLINE_BROKER_URL"] = "redis://127.0.0.1:1/0"  # nothing is published
    with bench_database() as (name, url):
        fill_and_time(args, name, url)


def fill_and_time(args: argparse.Namespace, name: str, url: str) -> None:
    from hookline.console import queries
    from hookline.console.queries import EventFilter
    from hookline.db import global_session
    from hookline.migrate import upgrade
    from hookline.services.tenants import add_tenant

    upgrade(url)
    with global_session() as session:
        for n in range(args.tenants):
            add_tenant(session, f"Bench Tenant {n:02d}")
    started = time.perf_counter()
    # As the superuser: the fill is not what is measured, and row-level security would only slow it.
    admin(EVENTS, name, events=args.events, tenants=args.tenants)
    admin(RUNS, name, per=args.runs_per_event)
    admin("VACUUM ANALYZE webhook_events", name)
    admin("VACUUM ANALYZE task_runs", name)
    print(f"filled {args.events:,} inbox rows and {args.events * args.runs_per_event:,} task runs "
          f"over {args.tenants} tenants in {time.perf_counter() - started:.0f} s")

    middle = args.events // 2
    middle -= middle % 100  # a failed one
    slug = queries.tenants()[0].slug
    now = datetime.now(timezone.utc)
    found = queries.search_events(EventFilter(provider_event_id=f"evt-{middle}"))
    tenant, event = found[0]
    reads = {
        "provider event id, every tenant": lambda: queries.search_events(
            EventFilter(provider_event_id=f"evt-{middle}")),
        "provider event id, one tenant": lambda: queries.search_events(
            EventFilter(tenant=tenant.slug, provider_event_id=f"evt-{middle}")),
        "one tenant, failed": lambda: queries.search_events(EventFilter(tenant=slug, status="failed")),
        "every tenant, failed, last 7 days": lambda: queries.search_events(
            EventFilter(status="failed", since=now - timedelta(days=7))),
        "one tenant, event type, one day 20 days ago": lambda: queries.search_events(EventFilter(
            tenant=slug, event_type="NoteCreate", since=now - timedelta(days=21), until=now - timedelta(days=20))),
        "every tenant, provider only (newest 200)": lambda: queries.search_events(EventFilter(provider="ghl")),
        "one tenant, an event type it never had": lambda: queries.search_events(
            EventFilter(tenant=slug, event_type="NoSuchEvent")),
        "an event's page (timeline, rows)": lambda: queries.event_page(tenant.slug, event.id),
        "tenants page": queries.tenant_rows,
    }
    print(f"{'read':<46}{'median ms':>10}{'worst ms':>10}")
    for label, read in reads.items():
        median, worst = timed(read)
        print(f"{label:<46}{median:>10.1f}{worst:>10.1f}")


if __name__ == "__main__":
    main()
