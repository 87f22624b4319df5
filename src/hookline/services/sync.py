"""Reconciliation state (sync_runs): start a run, claim it page by page, advance its cursor, record failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from hookline.models import SyncRun

IDLE, RUNNING, FAILED = "idle", "running", "failed"


@dataclass
class Page:
    """One page read from a provider: its items, the cursor after it, whether it was the last."""

    items: list[Any]
    cursor: dict[str, Any]
    done: bool
    total: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def find(session: Session, tenant_id: int, provider: str, resource: str, *, lock: bool = False) -> SyncRun | None:
    """The row; with `lock`, only if no other transaction holds it (FOR UPDATE SKIP LOCKED)."""
    query = select(SyncRun).where(SyncRun.tenant_id == tenant_id, SyncRun.provider == provider,
                                  SyncRun.resource == resource)
    if lock:
        query = query.with_for_update(skip_locked=True)
    return session.scalars(query).one_or_none()


def ensure(session: Session, tenant_id: int, provider: str, resource: str) -> SyncRun:
    session.execute(insert(SyncRun).values(tenant_id=tenant_id, provider=provider, resource=resource)
                    .on_conflict_do_nothing(index_elements=[SyncRun.tenant_id, SyncRun.provider, SyncRun.resource]))
    row = find(session, tenant_id, provider, resource)
    assert row is not None  # just inserted or already there, in this transaction
    return row


def is_stale(row: SyncRun, stale_after: float, now: datetime | None = None) -> bool:
    """A `running` row with no committed page for `stale_after` seconds: its chain of tasks died."""
    last = row.cursor_at or row.started_at
    return last is None or last < (now or datetime.now(UTC)) - timedelta(seconds=stale_after)


def start(session: Session, tenant_id: int, provider: str, resource: str, *, full: bool = False,
          stale_after: float) -> str:
    """Begin a run, or resume a stalled one. Returns `started`, `resumed` or `busy` (a live run exists).

    A new run keeps the stored cursor (incremental) unless `full`, which reads everything again.
    A stalled run (its worker killed) keeps its cursor and counts: it goes on from the last page.
    """
    row = ensure(session, tenant_id, provider, resource)
    if row.state == RUNNING:
        if not is_stale(row, stale_after):
            return "busy"
        row.cursor_at = func.now()  # the resumed chain owns it now; the next stale check waits again
        return "resumed"
    row.state, row.full, row.pages, row.rows, row.total = RUNNING, full, 0, 0, None
    row.started_at, row.finished_at, row.cursor_at, row.last_error = func.now(), None, func.now(), None
    if full:
        row.cursor = {}
    return "started"


def advance(row: SyncRun, page: Page) -> None:
    """Record a page read: the new cursor, the counts, `idle` when it was the last."""
    if row.total is None and page.total is not None:  # the first page that says (a walk may open with another list)
        row.total = page.total
    row.cursor, row.pages, row.rows, row.cursor_at = page.cursor, row.pages + 1, row.rows + len(page.items), func.now()
    if page.done:
        row.state, row.finished_at = IDLE, func.now()


def fail(session: Session, tenant_id: int, provider: str, resource: str, error: str) -> None:
    """Stop the run: `failed` with the error (no secrets: callers pass an exception's message)."""
    row = ensure(session, tenant_id, provider, resource)
    row.state, row.finished_at, row.last_error = FAILED, func.now(), error[:2000]


def listing(session: Session, tenant_id: int) -> list[SyncRun]:
    return list(session.scalars(select(SyncRun).where(SyncRun.tenant_id == tenant_id)
                                .order_by(SyncRun.provider, SyncRun.resource)))
