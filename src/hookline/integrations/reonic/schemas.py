"""Reonic webhook bodies: `{version, type, occurredAt, data: {…ids}}`; ids only, the handler fetches the rest."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ContactIds(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    contact_id: str = Field(alias="contactId", min_length=1, max_length=100)


class ContactEvent(BaseModel):
    """contact_created (the one contact event Reonic documents; not sent when a contact is reused)."""

    model_config = ConfigDict(extra="allow")

    type: str
    data: ContactIds
