"""Email: record a message in the caller's transaction; the `email` queue sends it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from hookline.db import require_tenant
from hookline.models import EmailMessage


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
    message is never recorded for work that did not happen, nor lost for work that did.
    """
    tenant_id = require_tenant(tenant_id)
    if not idempotency_key:
        raise ValueError("an email needs an idempotency key")
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
