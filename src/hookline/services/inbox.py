"""The webhook inbox: store once per dedupe key, claim for processing, record the outcome, replay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from hookline.db import require_tenant
from hookline.models import EventStatus, WebhookEvent


@dataclass(frozen=True)
class Stored:
    event_id: int
    created: bool  # False: a duplicate delivery of an event already in the inbox
    published: bool
    status: str  # the stored row's status (a duplicate's may be processed already)


# One statement (migration 0002): set the tenant, insert unless the dedupe key is there, return
# the stored row. The same for the sync (Session) and the async (psycopg, autocommit) caller.
_STORE = ("SELECT stored_id, stored_created, stored_published, stored_status FROM hookline_store_event("
          "%(tenant_id)s, %(provider)s, %(event_type)s, %(dedupe_key)s, %(payload)s, %(status)s)")


def _as_is(body: bytes) -> bytes:
    return body


def _store_params(tenant_id: int, *, provider: str, event_type: str, dedupe_key: str, payload: dict[str, Any],
                  status: EventStatus = EventStatus.PENDING, body: bytes | None = None) -> dict[str, Any]:
    # `body`: the JSON text `payload` was parsed from, stored as it is instead of serialising `payload` again.
    stored = Jsonb(body, dumps=_as_is) if body is not None else Jsonb(payload)
    return {"tenant_id": require_tenant(tenant_id), "provider": provider, "event_type": event_type,
            "dedupe_key": dedupe_key, "payload": stored, "status": status.value}


def store(
    session: Session,
    tenant_id: int,
    *,
    provider: str,
    event_type: str,
    dedupe_key: str,
    payload: dict[str, Any],
    status: EventStatus = EventStatus.PENDING,
) -> Stored:
    """Insert the event unless (tenant, provider, dedupe_key) is already there; safe to run twice."""
    params = _store_params(tenant_id, provider=provider, event_type=event_type, dedupe_key=dedupe_key,
                           payload=payload, status=status)
    return Stored(*session.connection().exec_driver_sql(_STORE, params).one())


async def store_now(conn: AsyncConnection, tenant_id: int, **event: Any) -> Stored:
    """`store` (the same keyword arguments) as one autocommitted statement: committed when it returns."""
    cursor = await conn.execute(_STORE, _store_params(tenant_id, **event))
    row = await cursor.fetchone()
    assert row is not None  # _STORE returns its row, inserted or found
    return Stored(*row)


# Many events of any tenants as one statement (migration 0017); each row as `_STORE` stores it.
# The arrays go in binary (%b): as text, psycopg escapes every element (each payload's JSON) with
# a regular expression, which cost ~4x the rest of the batch's Python.
_STORE_MANY = ("SELECT ord, stored_id, stored_created, stored_published, stored_status FROM hookline_store_events("
               "%b::bigint[], %b::text[], %b::text[], %b::text[], %b::jsonb[], %b::text[]) ORDER BY ord")


async def store_many_now(conn: AsyncConnection, events: list[dict[str, Any]]) -> list[Stored]:
    """`store_now` for each of `events` (its keyword arguments, `tenant_id` included), as one
    autocommitted statement and one commit: all of them are stored when it returns, or none."""
    rows = [_store_params(**event) for event in events]
    columns = [[row[name] for row in rows] for name in ("tenant_id", "provider", "event_type", "dedupe_key",
                                                        "payload", "status")]
    cursor = await conn.execute(_STORE_MANY, columns)
    return [Stored(*row[1:]) for row in await cursor.fetchall()]


@dataclass(frozen=True)
class Taken:
    """What a handler reads of an event it took (`take`)."""

    id: int
    provider: str
    event_type: str
    payload: dict[str, Any]
    received_at: datetime


# Claim and mark processed as one statement: the UPDATE locks the row as FOR UPDATE would, and a
# twin waiting on that lock re-checks `status` once the first commits, then finds nothing.
_TAKE = ("UPDATE webhook_events SET status = 'processed', processed_at = now(), last_error = NULL, "
         "attempts = attempts + 1 WHERE tenant_id = %(tenant_id)s AND id = %(event_id)s AND status = 'pending' "
         "RETURNING id, provider, event_type, payload, received_at")


def take(session: Session, tenant_id: int, event_id: int) -> Taken | None:
    """Claim a pending event and mark it processed in one round trip, or None when it is not pending.

    The one way every handler takes its event: the mark commits with what the handler writes in
    the same transaction, and an error rolls both back (the event is pending again for the retry
    or `mark_failed`). A handler's work outside the database (an upload, a send) is queued after
    the commit, never done inside it. A plain lock wait, never SKIP LOCKED: the row may be locked
    briefly by something that is not processing it (the ingress stamping `published_at`), and
    skipping would lose the event. A twin delivery waits for the first, then finds nothing.
    """
    row = session.connection().exec_driver_sql(_TAKE, {"tenant_id": tenant_id, "event_id": event_id}).one_or_none()
    return None if row is None else Taken(*row)


_TAKE_MANY = ("UPDATE webhook_events SET status = 'processed', processed_at = now(), last_error = NULL, "
              "attempts = attempts + 1 WHERE tenant_id = %(tenant_id)s AND id = ANY(%(event_ids)s) "
              "AND status = 'pending' RETURNING id, provider, event_type, payload, received_at")


def take_many(session: Session, tenant_id: int, event_ids: list[int]) -> list[Taken]:
    """`take` for many events in one statement: those still pending, in id order (the order received)."""
    rows = session.connection().exec_driver_sql(
        _TAKE_MANY, {"tenant_id": tenant_id, "event_ids": list(event_ids)}).all()
    return sorted((Taken(*row) for row in rows), key=lambda taken: taken.id)


def mark_ignored(session: Session, tenant_id: int, event_id: int) -> None:
    """An event taken and about something Hookline does not mirror: kept for audit, as `ignored`."""
    session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.tenant_id == tenant_id, WebhookEvent.id == event_id)
        .values(status=EventStatus.IGNORED.value),
        execution_options={"synchronize_session": False},
    )


def mark_failed(session: Session, tenant_id: int, event_id: int, error: str, *, only_pending: bool = False) -> None:
    """Record a permanent failure; the event is kept, with the reason, for an operator.

    `only_pending`: leave an event that is processed (or failed, or ignored) as it is.
    """
    statement = update(WebhookEvent).where(WebhookEvent.tenant_id == tenant_id, WebhookEvent.id == event_id)
    if only_pending:
        statement = statement.where(WebhookEvent.status == EventStatus.PENDING.value)
    session.execute(
        statement
        .values(
            status=EventStatus.FAILED.value,
            last_error=error[:2000],
            attempts=WebhookEvent.attempts + 1,
        )
    )


def unpublished(session: Session, tenant_id: int, *, older_than: timedelta, limit: int) -> list[WebhookEvent]:
    """Pending events committed more than `older_than` ago and never published, locked for this transaction."""
    return _pending(session, tenant_id, limit, WebhookEvent.published_at.is_(None),
                    WebhookEvent.received_at < func.now() - older_than)


def stale(session: Session, tenant_id: int, *, older_than: timedelta, limit: int) -> list[WebhookEvent]:
    """Pending events published more than `older_than` ago, locked for this transaction.

    Their message was lost (a broker that restarted without its queues, a queue purged), or is
    still waiting behind a long backlog; publishing again is safe either way, as `claim` hands
    a pending row out once.
    """
    return _pending(session, tenant_id, limit, WebhookEvent.published_at < func.now() - older_than)


def _pending(session: Session, tenant_id: int, limit: int, *conditions: Any) -> list[WebhookEvent]:
    # SKIP LOCKED here (unlike claim): a row locked by another relay, by the ingress stamping it,
    # or by a worker processing it is being taken care of already.
    return list(
        session.scalars(
            select(WebhookEvent)
            .where(WebhookEvent.tenant_id == tenant_id, WebhookEvent.status == EventStatus.PENDING.value, *conditions)
            .order_by(WebhookEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def recent(
    session: Session, tenant_id: int, *, status: str | None = None, provider: str | None = None, limit: int = 50
) -> list[WebhookEvent]:
    """The tenant's newest events first, optionally only those of one status and provider."""
    statement = select(WebhookEvent).where(WebhookEvent.tenant_id == tenant_id)
    if status is not None:
        statement = statement.where(WebhookEvent.status == status)
    if provider is not None:
        statement = statement.where(WebhookEvent.provider == provider)
    return list(session.scalars(statement.order_by(WebhookEvent.received_at.desc(), WebhookEvent.id.desc()).limit(limit)))


def get(session: Session, tenant_id: int, event_id: int) -> WebhookEvent | None:
    return session.scalars(
        select(WebhookEvent).where(WebhookEvent.tenant_id == tenant_id, WebhookEvent.id == event_id)
    ).one_or_none()


def failed_since(session: Session, tenant_id: int, since: datetime | None = None) -> list[WebhookEvent]:
    """The tenant's failed events received at or after `since` (all of them when None), oldest first.

    By `received_at`: a failure records no time of its own.
    """
    statement = select(WebhookEvent).where(
        WebhookEvent.tenant_id == tenant_id, WebhookEvent.status == EventStatus.FAILED.value
    )
    if since is not None:
        statement = statement.where(WebhookEvent.received_at >= since)
    return list(session.scalars(statement.order_by(WebhookEvent.received_at, WebhookEvent.id)))


def reset_for_replay(session: Session, tenant_id: int, event_id: int, *, only_status: str | None = None) -> bool:
    """Make the event pending and unpublished again, so a worker (or the relay) takes it anew.

    `attempts` is kept: it counts every run, replayed or not. False when there is no such event,
    or (`only_status`) when the event is not in that status any more.
    """
    statement = update(WebhookEvent).where(WebhookEvent.tenant_id == tenant_id, WebhookEvent.id == event_id)
    if only_status is not None:
        statement = statement.where(WebhookEvent.status == only_status)
    result = session.execute(
        statement.values(status=EventStatus.PENDING.value, published_at=None, last_error=None)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]  # a DML statement's Result is a CursorResult


def prune(session: Session, tenant_id: int, *, before: datetime, limit: int = 10_000) -> int:
    """Delete up to `limit` of the tenant's processed or ignored events received before `before`; how many went.

    Pending and failed events stay, whatever their age: they still need a worker or an operator.
    """
    oldest = (select(WebhookEvent.id).where(
        WebhookEvent.tenant_id == tenant_id, WebhookEvent.received_at < before,
        WebhookEvent.status.in_((EventStatus.PROCESSED.value, EventStatus.IGNORED.value)))
        .limit(limit).scalar_subquery())
    result = session.execute(delete(WebhookEvent).where(WebhookEvent.tenant_id == tenant_id,
                                                        WebhookEvent.id.in_(oldest)))
    return result.rowcount  # type: ignore[attr-defined]  # a DML statement's Result is a CursorResult
