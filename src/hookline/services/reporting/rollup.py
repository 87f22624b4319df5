"""Run every roll-up for a tenant's local days, in the caller's transaction, one tenant at a time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from hookline.db import require_tenant
from hookline.services.reporting.rollups import ROLLUPS, window


@dataclass
class RollupResult:
    first: date
    last: date
    rows: dict[str, int] = field(default_factory=dict)  # roll-up name → rows written
    skipped: list[str] = field(default_factory=list)  # roll-ups whose tables do not exist (yet)


def rollup(session: Session, tenant_id: int, first: date, last: date | None = None) -> RollupResult:
    """Recompute every KPI of the tenant's local days first..last (default: first alone).

    Replace, never add: each roll-up deletes its rows for those days and inserts them again, in
    the caller's transaction, so a run repeated (a task redelivered, an operator re-running a
    day) leaves the same rows. Roll-ups of one tenant take turns (a transaction-level advisory
    lock), so two concurrent runs of a day cannot both insert it.
    """
    tenant_id = require_tenant(tenant_id)
    last = first if last is None else last
    if first > last:
        raise ValueError(f"first day {first} is after last day {last}")
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended('hookline.reports', :tenant))"),
                    {"tenant": tenant_id})
    days = window(session, tenant_id, first, last)
    result = RollupResult(first, last)
    for name, run in ROLLUPS.items():
        written = run(session, days)
        if written is None:
            result.skipped.append(name)
        else:
            result.rows[name] = written
    return result


def local_yesterday(timezone: str, now: datetime) -> date:
    """The day before `now`'s date on the tenant's clock (`now` must be time-zone aware)."""
    return now.astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
