"""Email: record a message in the caller's transaction; the `email` queue sends it, at most once per key.

States: queued → sending → sent | failed | bounced. Only `claim` moves a message to `sending`,
and only from `queued`, so two runs of the send task never both send it. A message left in
`sending` (its worker died mid-send) has an unknown outcome: the sweeper fails it with that
reason instead of sending it again; an operator may replay it (docs/operations.md).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from hookline.config import email_address
from hookline.db import require_tenant
from hookline.models import EmailMessage, EmailStatus, Tenant
from hookline.services.email_templates import check_template

UNKNOWN_OUTCOME = "outcome unknown: the send was interrupted (worker stopped or timed out); it may have gone out"


def enqueue(
    session: Session,
    tenant_id: int,
    *,
    template: str,
    recipient: str,
    context: dict[str, Any],
    idempotency_key: str,
) -> EmailMessage:
    """Record a message once per (tenant, idempotency key); a second call returns the first row.

    The row commits or rolls back with the caller's own change (a dunning step, a report), so a
    message is never recorded for work that did not happen, nor lost for work that did. Publish
    its send with `hookline.tasks.email.send_after_commit(session, message)`; if nobody does, the
    sweeper publishes it after HOOKLINE_EMAIL_REQUEUE_AFTER_SECONDS.
    """
    tenant_id = require_tenant(tenant_id)
    if not idempotency_key:
        raise ValueError("an email needs an idempotency key")
    check_template(template)  # a caller's typo fails here, in its own transaction, not later in a worker
    recipient = email_address(recipient)
    session.execute(
        insert(EmailMessage)
        .values(tenant_id=tenant_id, template=template, recipient=recipient, context=context,
                idempotency_key=idempotency_key)
        .on_conflict_do_nothing(index_elements=[EmailMessage.tenant_id, EmailMessage.idempotency_key])
    )
    return session.scalars(
        select(EmailMessage).where(EmailMessage.tenant_id == tenant_id,
                                   EmailMessage.idempotency_key == idempotency_key)
    ).one()


def get(session: Session, tenant_id: int, message_id: int) -> EmailMessage | None:
    return session.scalars(
        select(EmailMessage).where(EmailMessage.tenant_id == tenant_id, EmailMessage.id == message_id)
    ).one_or_none()


def _move(session: Session, tenant_id: int, message_id: int, from_status: EmailStatus, **values: Any) -> EmailMessage | None:
    """One guarded transition: the row changes only if it is still in `from_status`; None otherwise."""
    return session.scalars(
        update(EmailMessage)
        .where(EmailMessage.tenant_id == tenant_id, EmailMessage.id == message_id,
               EmailMessage.status == from_status.value)
        .values(updated_at=func.now(), **values)
        .returning(EmailMessage),
        execution_options={"populate_existing": True},
    ).one_or_none()


def claim(session: Session, tenant_id: int, message_id: int) -> EmailMessage | None:
    """queued → sending, counting the attempt; None when another run has it or it is done.

    A twin run blocks on the row until this transaction commits, then finds it no longer queued.
    """
    return _move(session, tenant_id, message_id, EmailStatus.QUEUED, status=EmailStatus.SENDING.value,
                 attempts=EmailMessage.attempts + 1)


def mark_sent(session: Session, tenant_id: int, message_id: int, provider_message_id: str) -> EmailMessage | None:
    return _move(session, tenant_id, message_id, EmailStatus.SENDING, status=EmailStatus.SENT.value,
                 provider_message_id=provider_message_id[:200], sent_at=func.now(), last_error=None)


def mark_failed(session: Session, tenant_id: int, message_id: int, error: str,
                from_status: EmailStatus = EmailStatus.SENDING) -> EmailMessage | None:
    """Permanent: kept with its reason for an operator (`hookline email replay` sends it again)."""
    return _move(session, tenant_id, message_id, from_status, status=EmailStatus.FAILED.value, last_error=error[:2000])


def defer(session: Session, tenant_id: int, message_id: int, *, seconds: float, error: str | None = None,
          from_status: EmailStatus = EmailStatus.SENDING) -> EmailMessage | None:
    """Back to queued, due in `seconds` (a transient failure, or a rate limit when from queued)."""
    values: dict[str, Any] = {"status": EmailStatus.QUEUED.value, "due_at": func.now() + timedelta(seconds=seconds)}
    if error is not None:
        values["last_error"] = error[:2000]
    return _move(session, tenant_id, message_id, from_status, **values)


def mark_bounced(session: Session, tenant_id: int, *, provider_message_id: str, reason: str) -> EmailMessage | None:
    """A sent message the provider reports as bounced (its webhook); None when no sent message has that id."""
    message = session.scalars(
        select(EmailMessage.id).where(EmailMessage.tenant_id == tenant_id,
                                      EmailMessage.provider_message_id == provider_message_id)
    ).first()
    if message is None:
        return None
    return _move(session, tenant_id, message, EmailStatus.SENT, status=EmailStatus.BOUNCED.value,
                 last_error=f"bounced: {reason}"[:2000])


def reset_for_replay(session: Session, tenant_id: int, message_id: int) -> EmailMessage | None:
    """failed → queued and due now, attempts kept; None when the message is not failed."""
    return _move(session, tenant_id, message_id, EmailStatus.FAILED, status=EmailStatus.QUEUED.value,
                 due_at=func.now(), last_error=None)


def take_overdue(session: Session, tenant_id: int, *, older_than: timedelta, limit: int) -> list[int]:
    """Queued messages due more than `older_than` ago (their task was never published, or lost).

    Their due time moves to now, so the next sweep leaves them alone for `older_than` again; the
    rows stay locked (SKIP LOCKED: a concurrent sweep takes others) until the caller commits.
    """
    ids = list(session.scalars(
        select(EmailMessage.id)
        .where(EmailMessage.tenant_id == tenant_id, EmailMessage.status == EmailStatus.QUEUED.value,
               EmailMessage.due_at < func.now() - older_than)
        .order_by(EmailMessage.id).limit(limit).with_for_update(skip_locked=True)
    ))
    if ids:
        session.execute(update(EmailMessage).where(EmailMessage.tenant_id == tenant_id, EmailMessage.id.in_(ids))
                        .values(due_at=func.now()), execution_options={"synchronize_session": False})
    return ids


def fail_stuck(session: Session, tenant_id: int, *, older_than: timedelta) -> list[int]:
    """`sending` for longer than any send may take: the worker died mid-send. Failed, never re-sent."""
    return list(session.scalars(
        update(EmailMessage)
        .where(EmailMessage.tenant_id == tenant_id, EmailMessage.status == EmailStatus.SENDING.value,
               EmailMessage.updated_at < func.now() - older_than)
        .values(status=EmailStatus.FAILED.value, last_error=UNKNOWN_OUTCOME, updated_at=func.now())
        .returning(EmailMessage.id),
        execution_options={"synchronize_session": False},
    ))


def recent(session: Session, tenant_id: int, *, status: str | None = None, limit: int = 50) -> list[EmailMessage]:
    statement = select(EmailMessage).where(EmailMessage.tenant_id == tenant_id)
    if status is not None:
        statement = statement.where(EmailMessage.status == status)
    return list(session.scalars(statement.order_by(EmailMessage.id.desc()).limit(limit)))


def sender(session: Session, tenant_id: int) -> tuple[str, str | None]:
    """The tenant's From display name (its own name unless set) and Reply-To."""
    tenant = session.get_one(Tenant, tenant_id)
    return tenant.email_sender_name or tenant.name, tenant.email_reply_to
