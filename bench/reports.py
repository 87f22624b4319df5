"""Benchmark the nightly KPI roll-up on one tenant with 1,000,000 contacts and 100,000 opportunities.

    uv run python bench/reports.py [--contacts 1000000] [--opportunities 100000] [--events 300000] [--keep]

Creates a fresh database `hookline_bench_reports_<hex>` owned by a non-superuser role (row-level
security in force, as in production), migrates it, and seeds one tenant (Europe/Berlin) with
INSERT … SELECT generate_series, spread over the year 2026 in the order a live table fills: contacts (8 sources), inbox events
(3 providers, 2% failed) and opportunities (a quarter won). Then it times, through
`hookline.services.reporting.rollup` in a tenant session as the worker runs it:
  - one day, as the nightly task does it (best and median of 5);
  - 30 days one transaction per day, as `hookline reports run` does it;
  - 30 days as one range in one statement per roll-up.
It prints figures and asserts nothing. The database is dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from datetime import date

import psycopg

ADMIN_URL = os.environ.get("HOOKLINE_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_HOST = os.environ.get("HOOKLINE_BENCH_PG_HOST", "127.0.0.1:5432")
APP_ROLE = "hookline_bench_app"
DAY = date(2026, 6, 15)  # a mid-year day: the seed spreads rows over all of 2026
SOURCES = "ARRAY['facebook', 'google', 'website', 'referral', 'phone', 'trade-fair', 'partner', 'email']"

SEED = {
    "contacts": f"""
        INSERT INTO contacts (tenant_id, provider, external_id, source, date_added, created_at, updated_at)
        SELECT %(tenant)s, 'ghl', 'ct-' || i, ({SOURCES})[1 + i %% 8],
               timestamptz '2026-01-01 00:00Z' + (i::bigint * 365 / %(n)s) * interval '1 day'
                                                + (i::bigint * 7919 %% 86400) * interval '1 second',
               now(), now()
        FROM generate_series(1, %(n)s) AS i""",
    "webhook_events": """
        INSERT INTO webhook_events (tenant_id, provider, event_type, dedupe_key, payload, status, received_at)
        SELECT %(tenant)s, (ARRAY['ghl', 'reonic', 'zoom'])[1 + i %% 3], 'ContactCreate', 'ev-' || i, '{}',
               CASE WHEN i %% 50 = 0 THEN 'failed' ELSE 'processed' END,
               timestamptz '2026-01-01 00:00Z' + (i::bigint * 365 / %(n)s) * interval '1 day' + (i::bigint * 104729 %% 86400) * interval '1 second'
        FROM generate_series(1, %(n)s) AS i""",
    "deals": """
        INSERT INTO deals (tenant_id, provider, external_id, status, monetary_value, source_version)
        SELECT %(tenant)s, 'ghl', 'op-' || i, (ARRAY['won', 'open', 'lost', 'abandoned'])[1 + i %% 4], (i %% 5000) + 0.5,
               timestamptz '2026-01-01 00:00Z' + (i::bigint * 365 / %(n)s) * interval '1 day' + (i::bigint * 7919 %% 86400) * interval '1 second'
        FROM generate_series(1, %(n)s) AS i""",
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--opportunities", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=300_000, help="inbox events (webhook volume roll-up)")
    parser.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    return parser.parse_args()


def admin(sql: str, params: dict | tuple = (), dbname: str = "postgres") -> None:
    with psycopg.connect(ADMIN_URL, dbname=dbname, autocommit=True) as conn:
        conn.execute(sql, params)


def timed(label: str, run) -> float:  # noqa: ANN001
    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    print(f"  {label:<48} {elapsed:8.2f} s", flush=True)
    return elapsed


def main() -> None:
    args = parse_args()
    name = f"hookline_bench_reports_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone():
            conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS")
        conn.execute(f"CREATE DATABASE {name} OWNER {APP_ROLE}")
    url = f"postgresql://{APP_ROLE}@{PG_HOST}/{name}"
    os.environ.update(HOOKLINE_DATABASE_URL=url)
    from hookline.db import get_engine, global_session, tenant_session  # after the environment: settings are read once
    from hookline.migrate import upgrade
    from hookline.services import reporting
    from hookline.services.tenants import add_tenant
    from hookline.workers.logs import configure_logging

    configure_logging("WARNING")  # the per-day "roll-up skipped" lines; the result says so once

    print(f"database {name}")
    try:
        upgrade(url)
        with global_session() as session:
            tenant_id = add_tenant(session, "Bench Solar", timezone="Europe/Berlin").id
        print("seeding (INSERT … SELECT generate_series):")
        for table, count in (("contacts", args.contacts), ("webhook_events", args.events),
                             ("deals", args.opportunities)):
            timed(f"{count:>9,} {table}", lambda: admin(SEED[table], {"tenant": tenant_id, "n": count}, dbname=name))  # noqa: B023 - run at once
        admin("VACUUM ANALYZE", dbname=name)

        def rollup(first: date, last: date | None = None) -> reporting.RollupResult:
            with tenant_session(tenant_id) as session:
                return reporting.rollup(session, tenant_id, first, last)

        result = rollup(DAY)  # warm the caches once, as a nightly run on a live database would find them
        print(f"one day ({DAY}, Europe/Berlin) writes {result.rows}; skipped: {result.skipped or 'none'}")
        print("roll-up times:")
        runs = [timed(f"nightly: one day, run {n + 1}", lambda: rollup(DAY)) for n in range(5)]
        days = reporting.days_between(DAY, date.fromordinal(DAY.toordinal() + 29))
        per_day = timed("30 days, one transaction per day (reports run)", lambda: [rollup(day) for day in days])
        at_once = timed("30 days, one range", lambda: rollup(days[0], days[-1]))
        print(f"nightly roll-up of one day: best {min(runs) * 1000:.0f} ms, median {statistics.median(runs) * 1000:.0f} ms; "
              f"30 days: {per_day:.2f} s day by day, {at_once:.2f} s as one range")
    finally:
        get_engine().dispose()
        if args.keep:
            print(f"kept database {name}")
        else:
            admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
