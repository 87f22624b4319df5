"""Contacts: one row per tenant and provider contact id, whatever the source."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func
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
