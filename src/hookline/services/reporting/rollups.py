"""The roll-ups: one set-based statement per KPI family, replacing a range of the tenant's local days.

Each function deletes its metrics for (tenant, days) and inserts them again from one
INSERT … SELECT … GROUP BY, in the caller's transaction: run twice, the same rows. A local day
is [midnight, next midnight) in the tenant's time zone (`Window`), so source rows are found by a
range on their timestamp (index-friendly) and grouped by `(ts AT TIME ZONE tz)::date`.

Roll-ups over tables that other parts of Hookline bring check that their tables exist first and
are skipped with a log line when they do not. The CRM tables (migration 0005) are mirrored from
GoHighLevel: a deleted record is a tombstone (`deleted_at`) and is not counted, and
`source_version` is the provider's time of the last change applied (for a won deal: when it was
won, as far as its events tell). Dunning recovered reads billing_invoices and dunning_attempts
(migration 0010).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.orm import Session

log = structlog.get_logger(__name__)

LOCAL_DAY = "(({ts}) AT TIME ZONE :tz)::date"
IN_WINDOW = "({ts}) >= :lo AND ({ts}) < :hi"
ADDED = "coalesce(date_added, created_at)"
# ADDED in the window, spelled as two plain ranges: under row-level security PostgreSQL does not
# use a condition on coalesce(…) in an index scan (not leakproof) and reads the whole tenant.
ADDED_IN_WINDOW = ("((date_added >= :lo AND date_added < :hi)"
                   " OR (date_added IS NULL AND created_at >= :lo AND created_at < :hi))")


@dataclass(frozen=True)
class Window:
    """A tenant's local days first..last as a UTC range [lo, hi), and the zone that cuts them."""

    tenant_id: int
    first: date
    last: date
    tz: str
    lo: datetime
    hi: datetime

    def params(self) -> dict[str, Any]:
        return {"tenant": self.tenant_id, "first": self.first, "last": self.last, "tz": self.tz,
                "lo": self.lo, "hi": self.hi}


def window(session: Session, tenant_id: int, first: date, last: date) -> Window:
    """The tenant's local days as timestamps, computed by PostgreSQL with the zone it groups by."""
    row = session.execute(
        text("SELECT t.timezone, CAST(:first AS timestamp) AT TIME ZONE t.timezone,"
             " (CAST(:last AS date) + 1)::timestamp AT TIME ZONE t.timezone FROM tenants t WHERE t.id = :tenant"),
        {"tenant": tenant_id, "first": first, "last": last},
    ).one()
    return Window(tenant_id, first, last, row[0], row[1], row[2])


def missing_tables(session: Session, *tables: str) -> list[str]:
    return [table for table in tables
            if session.scalar(text("SELECT to_regclass(:table)"), {"table": table}) is None]


def replace(session: Session, days: Window, metrics: tuple[str, ...], insert_sql: str,
            requires: tuple[str, ...] = ()) -> int | None:
    """Delete `metrics` for the days, insert them again; None (and a log line) if a table is missing."""
    missing = missing_tables(session, *requires)
    if missing:
        log.info("reports.rollup_skipped", metrics=list(metrics), missing_tables=missing,
                 tenant_id=days.tenant_id)
        return None
    session.execute(
        text("DELETE FROM report_metrics WHERE tenant_id = :tenant AND metric = ANY(:metrics)"
             " AND day BETWEEN :first AND :last"),
        {**days.params(), "metrics": list(metrics)},
    )
    return session.execute(text(insert_sql), days.params()).rowcount  # type: ignore[attr-defined]  # a DML statement's Result is a CursorResult


def leads(session: Session, days: Window) -> int | None:
    """New contacts per source and day, by when the CRM added them (else when we stored them)."""
    return replace(session, days, ("leads",), f"""
        INSERT INTO report_metrics (tenant_id, day, metric, dimension, count)
        SELECT :tenant, {LOCAL_DAY.format(ts=ADDED)}, 'leads', coalesce(nullif(source, ''), 'unknown'), count(*)
        FROM contacts
        WHERE tenant_id = :tenant AND {ADDED_IN_WINDOW}
        GROUP BY 2, 4""")


def webhooks(session: Session, days: Window) -> int | None:
    """Webhooks received and failed per provider and day, by when the ingress stored them."""
    return replace(session, days, ("webhooks_received", "webhooks_failed"), f"""
        INSERT INTO report_metrics (tenant_id, day, metric, dimension, count)
        SELECT :tenant, per_day.day, figure.metric, per_day.provider, figure.count
        FROM (SELECT {LOCAL_DAY.format(ts="received_at")} AS day, provider, count(*) AS received,
                     count(*) FILTER (WHERE status = 'failed') AS failed
              FROM webhook_events
              WHERE tenant_id = :tenant AND {IN_WINDOW.format(ts="received_at")}
              GROUP BY 1, 2) AS per_day
        CROSS JOIN LATERAL (VALUES ('webhooks_received', per_day.received),
                                   ('webhooks_failed', per_day.failed)) AS figure(metric, count)""")


def appointments(session: Session, days: Window) -> int | None:
    """Appointments set (by when booked), held and no-show (by their start), per day."""
    return replace(session, days, ("appointments_set", "appointments_held", "appointments_no_show"), f"""
        INSERT INTO report_metrics (tenant_id, day, metric, dimension, count)
        SELECT :tenant, day, metric, '', count(*)
        FROM (SELECT {LOCAL_DAY.format(ts=ADDED)} AS day, 'appointments_set' AS metric
              FROM appointments
              WHERE tenant_id = :tenant AND {ADDED_IN_WINDOW} AND deleted_at IS NULL
                AND coalesce(status, '') <> 'invalid'
              UNION ALL
              SELECT {LOCAL_DAY.format(ts="start_time")},
                     CASE status WHEN 'showed' THEN 'appointments_held' ELSE 'appointments_no_show' END
              FROM appointments
              WHERE tenant_id = :tenant AND {IN_WINDOW.format(ts="start_time")} AND deleted_at IS NULL
                AND status IN ('showed', 'noshow')) AS happened
        GROUP BY day, metric""", requires=("appointments",))


def opportunities_won(session: Session, days: Window) -> int | None:
    """Opportunities (deals) won per day, and their value, by the time of their last applied change."""
    return replace(session, days, ("opportunities_won",), f"""
        INSERT INTO report_metrics (tenant_id, day, metric, dimension, count, amount)
        SELECT :tenant, {LOCAL_DAY.format(ts="source_version")}, 'opportunities_won', '',
               count(*), coalesce(sum(monetary_value), 0)
        FROM deals
        WHERE tenant_id = :tenant AND status = 'won' AND deleted_at IS NULL
          AND {IN_WINDOW.format(ts="source_version")}
        GROUP BY 2""", requires=("deals",))


def dunning_recovered(session: Session, days: Window) -> int | None:
    """Invoices paid per day and currency after at least one dunning step, and their amount."""
    return replace(session, days, ("dunning_recovered",), f"""
        INSERT INTO report_metrics (tenant_id, day, metric, dimension, count, amount)
        SELECT :tenant, {LOCAL_DAY.format(ts="i.paid_at")}, 'dunning_recovered', i.currency, count(*), sum(i.amount)
        FROM billing_invoices AS i
        WHERE i.tenant_id = :tenant AND i.status = 'paid' AND {IN_WINDOW.format(ts="i.paid_at")}
          AND EXISTS (SELECT 1 FROM dunning_attempts AS a WHERE a.tenant_id = :tenant AND a.invoice_id = i.id)
        GROUP BY 2, 4""", requires=("billing_invoices", "dunning_attempts"))


ROLLUPS: dict[str, Callable[[Session, Window], int | None]] = {
    "leads": leads,
    "webhooks": webhooks,
    "appointments": appointments,
    "opportunities_won": opportunities_won,
    "dunning_recovered": dunning_recovered,
}
