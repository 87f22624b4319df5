"""Contacts: one row per tenant and provider contact id, whatever the source."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import event, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from hookline.integrations.ghl.schemas import ContactEvent
from hookline.models import Contact
from hookline.services import records


class ContactData(BaseModel):
    """A contact as Hookline stores it, independent of the provider it came from."""

    provider: str
    external_id: str
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    company_name: str | None = None
    source: str | None = None
    address1: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    website: str | None = None
    dnd: bool = False
    assigned_to: str | None = None
    tags: list[str] = []
    custom_fields: list[dict[str, Any]] = []
    date_added: datetime | None = None

    @classmethod
    def from_ghl(cls, payload: dict[str, Any]) -> ContactData:
        """Raises pydantic.ValidationError when the payload is not a contact event."""
        event = ContactEvent.model_validate(payload)
        return cls(provider="ghl", external_id=event.external_id, **event.values())

    def as_row(self) -> dict[str, Any]:
        return self.model_dump(exclude={"provider", "external_id"})


def upsert(session: Session, tenant_id: int, contact: ContactData) -> Contact:
    """Insert or update by (tenant_id, provider, external_id); safe to run twice.

    Unconditional: for a source that has no versions of its own. Provider events go through
    services/crm.py, which keeps their order.
    """
    row = contact.as_row()
    statement = insert(Contact).values(
        tenant_id=tenant_id, provider=contact.provider, external_id=contact.external_id, **row
    )
    statement = statement.on_conflict_do_update(
        index_elements=[Contact.tenant_id, Contact.provider, Contact.external_id],
        set_={**{column: statement.excluded[column] for column in row}, "updated_at": func.now()},
    )
    return session.scalars(statement.returning(Contact), execution_options={"populate_existing": True}).one()


def latest(session: Session, tenant_id: int, limit: int = 20) -> list[Contact]:
    """The tenant's most recently updated contacts, deleted ones left out."""
    return records.live(session, tenant_id, Contact, limit)


# The contacts this session's transaction asked to push: recorded here, queued by the caller.
_PUSHES = "hookline.contacts.pushes"


def get(session: Session, tenant_id: int, contact_id: int) -> Contact | None:
    return session.scalars(select(Contact).where(Contact.tenant_id == tenant_id, Contact.id == contact_id)).one_or_none()


def set_tags(session: Session, tenant_id: int, contact_id: int, tags: list[str]) -> Contact:
    """A local change (e.g. a lead qualified): the contact's tags, recorded for a push to its CRM (`request_push`)."""
    contact = get(session, tenant_id, contact_id)
    if contact is None:
        raise LookupError(f"no contact {contact_id} for tenant {tenant_id}")
    contact.tags, contact.updated_at = sorted(set(tags)), func.now()
    request_push(session, tenant_id, contact)
    return contact


def request_push(session: Session, tenant_id: int, contact: Contact) -> None:
    """Record that `contact` is to be pushed to its CRM (GoHighLevel contacts only, for now).

    A service never reaches the workers: the caller queues what was recorded (`take_pushes`;
    tasks/ghl_sync.queue_pushes) before it commits. A transaction that would commit with a push
    recorded and not queued fails instead, so a push is never dropped without a word.
    """
    if contact.provider != "ghl":
        raise ValueError(f"pushing {contact.provider} contacts is not built yet")
    if _PUSHES not in session.info:
        session.info[_PUSHES] = []
        event.listen(session, "before_commit", _refuse_unqueued_pushes)
        event.listen(session, "after_rollback", lambda s: s.info[_PUSHES].clear())
    if contact.id not in session.info[_PUSHES]:
        session.info[_PUSHES].append(contact.id)


def take_pushes(session: Session) -> list[int]:
    """The ids of the contacts recorded for a push in this transaction, handed over to the caller once."""
    pushes = session.info.get(_PUSHES, [])
    if pushes:
        session.info[_PUSHES] = []
    return pushes


def _refuse_unqueued_pushes(session: Session) -> None:
    if session.info[_PUSHES]:
        raise RuntimeError(f"contacts {session.info[_PUSHES]} were recorded for a push that nobody queued: "
                           "call tasks.ghl_sync.queue_pushes(session, tenant_id) before the commit")
