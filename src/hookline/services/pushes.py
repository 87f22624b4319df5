"""Pushes back to the CRM: a change recorded once per key (a dunning tag, a recording's note), sent by a task.

A service records a push in the caller's transaction (`request_*`); it never reaches the workers.
The caller queues what was recorded with `tasks.ghl_sync.queue_pushes(session, tenant_id)` before
it commits, which publishes after the commit. A transaction that would commit with a push
recorded and not queued fails instead, so a push is never dropped without a word.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

import structlog
from sqlalchemy import event, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from hookline.models import Connection, Contact, CrmPush, Customer, Invoice, Recording, Tenant

log = structlog.get_logger(__name__)

DUNNING_TAG, RECORDING_NOTE = "dunning_tag", "recording_note"
SUSPENDED_TAG = "hookline:dunning-suspended"

# (kind, push id) of the pushes this session's transaction recorded: queued by the caller.
_REQUESTED = "hookline.pushes.requested"


def enabled(session: Session, tenant_id: int) -> bool:
    """Whether the tenant's changes go back to its CRM: its switch is on and it has an active GoHighLevel location."""
    on = session.scalar(select(Tenant.pushes_enabled).where(Tenant.id == tenant_id))
    connected = session.scalar(select(Connection.id).where(
        Connection.tenant_id == tenant_id, Connection.provider == "ghl", Connection.status == "active").limit(1))
    return bool(on) and connected is not None


def set_enabled(session: Session, tenant: Tenant, on: bool) -> None:
    tenant.pushes_enabled = on


def request_dunning_tag(session: Session, tenant_id: int, invoice: Invoice, change: str) -> int | None:
    """A suspension (`change` "suspended") or its reversal ("reinstated") of `invoice`: its customer's tag follows."""
    return _request(session, tenant_id, DUNNING_TAG, f"dunning:{invoice.id}:{change}", invoice.customer_id)


def request_recording_note(session: Session, tenant_id: int, recording_id: int) -> int | None:
    """A recording stored: a note with its link on its GoHighLevel contact."""
    return _request(session, tenant_id, RECORDING_NOTE, f"recording:{recording_id}", recording_id)


def _request(session: Session, tenant_id: int, kind: str, key: str, subject_id: int) -> int | None:
    """Insert the push unless its key exists; the id of a new one, recorded for the caller to queue."""
    if not enabled(session, tenant_id):
        log.info("ghl.push.off", kind=kind, key=key)
        return None
    push_id = session.scalar(
        insert(CrmPush).values(tenant_id=tenant_id, kind=kind, key=key, subject_id=subject_id)
        .on_conflict_do_nothing(index_elements=[CrmPush.tenant_id, CrmPush.key]).returning(CrmPush.id))
    if push_id is None:  # the same change again (a rerun trigger): sent once
        return None
    if _REQUESTED not in session.info:
        session.info[_REQUESTED] = []
        event.listen(session, "before_commit", _refuse_unqueued)
        event.listen(session, "after_rollback", lambda s: s.info[_REQUESTED].clear())
    session.info[_REQUESTED].append((kind, push_id))
    return push_id


def requested(session: Session) -> bool:
    return bool(session.info.get(_REQUESTED))


def take_requested(session: Session) -> list[tuple[str, int]]:
    """(kind, push id) of the pushes recorded in this transaction, handed over to the caller once."""
    requested = session.info.get(_REQUESTED, [])
    if requested:
        session.info[_REQUESTED] = []
    return requested


def _refuse_unqueued(session: Session) -> None:
    if session.info[_REQUESTED]:
        raise RuntimeError(f"pushes {session.info[_REQUESTED]} were recorded and nobody queued them: "
                           "call tasks.ghl_sync.queue_pushes(session, tenant_id) before the commit")


def claim(session: Session, tenant_id: int, push_id: int) -> CrmPush | None:
    """The pending push, locked for this transaction: a twin delivery waits, then finds it done."""
    return session.scalars(select(CrmPush).where(CrmPush.tenant_id == tenant_id, CrmPush.id == push_id,
                                                 CrmPush.state == "pending").with_for_update()).one_or_none()


def finish(push: CrmPush, state: str, *, result: str | None = None, error: str | None = None) -> None:
    push.state, push.result, push.last_error, push.finished_at = state, result, error and error[:2000], func.now()


def customer_contact(session: Session, tenant_id: int, customer_id: int) -> str | None:
    """The GoHighLevel contact of a billing customer: the tenant's live GoHighLevel contact with the
    customer's email (case-insensitive), the most recently updated if several; None if there is none."""
    email = session.scalar(select(Customer.email).where(Customer.tenant_id == tenant_id, Customer.id == customer_id))
    if not email:
        return None
    return session.scalar(
        select(Contact.external_id)
        .where(Contact.tenant_id == tenant_id, Contact.provider == "ghl", Contact.deleted_at.is_(None),
               func.lower(Contact.email) == email.strip().lower())
        .order_by(Contact.updated_at.desc(), Contact.id.desc()).limit(1))


def recording(session: Session, tenant_id: int, recording_id: int) -> Recording | None:
    return session.scalars(select(Recording).where(Recording.tenant_id == tenant_id,
                                                   Recording.id == recording_id)).one_or_none()


def note_marker(recording_id: int) -> str:
    """The line a recording's note ends with: a rerun that finds it in the contact's notes posts nothing."""
    return f"(hookline recording {recording_id})"


def note_text(row: Recording, link: str) -> str:
    details: list[Any] = []
    if row.recorded_at is not None:
        details.append(f"recorded {row.recorded_at.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC")
    if row.duration_seconds:
        details.append(f"{row.duration_seconds // 60}:{row.duration_seconds % 60:02d} min")
    summary = f" ({', '.join(details)})" if details else ""
    return f"Call recording{summary}: {link}\n{note_marker(row.id)}"


def take_stale(session: Session, tenant_id: int, *, older_than: timedelta, limit: int) -> list[tuple[str, int]]:
    """(kind, id) of pushes still pending `older_than` after their task was published, stamped
    queued now (the next sweep waits again). Their publish was lost, or their worker died; a
    twin of a task still retrying is harmless: the row lock and its state let one of them send."""
    stale = list(session.execute(
        select(CrmPush.kind, CrmPush.id)
        .where(CrmPush.tenant_id == tenant_id, CrmPush.state == "pending", CrmPush.queued_at < func.now() - older_than)
        .order_by(CrmPush.queued_at).limit(limit).with_for_update(skip_locked=True)))  # locked: a task has it
    if stale:
        session.execute(update(CrmPush).where(CrmPush.tenant_id == tenant_id, CrmPush.id.in_([i for _, i in stale]))
                        .values(queued_at=func.now()))
    return [(kind, push_id) for kind, push_id in stale]


def recent(session: Session, tenant_id: int, limit: int = 50) -> list[CrmPush]:
    return list(session.scalars(select(CrmPush).where(CrmPush.tenant_id == tenant_id)
                                .order_by(CrmPush.id.desc()).limit(limit)))
