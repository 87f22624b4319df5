"""GoHighLevel webhook bodies as typed models; provider quirks stay in here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hookline.integrations.download import RemoteRecording, safe_extension, url_extension


class Envelope(BaseModel):
    """The top level of a GoHighLevel webhook: its type, its location, its delivery id.

    The documented bodies name the location three ways: `locationId` (most events), `altId`
    with `altType: "location"` (invoice events, which also carry no `type`), and `id` on
    LocationCreate / LocationUpdate. Agency-level events (INSTALL for a company, UserCreate of
    an agency user) carry only `companyId` and have no location.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    type: str = Field(default="unknown", min_length=1, max_length=100)
    location_id: str | None = Field(default=None, alias="locationId", min_length=1, max_length=200)
    alt_id: str | None = Field(default=None, alias="altId", max_length=200)
    alt_type: str | None = Field(default=None, alias="altType")
    id: str | None = Field(default=None, max_length=200)
    company_id: str | None = Field(default=None, alias="companyId", max_length=200)
    webhook_id: str | None = Field(default=None, alias="webhookId", max_length=200)

    @property
    def location(self) -> str | None:
        if self.location_id:
            return self.location_id
        if self.alt_type == "location" and self.alt_id:
            return self.alt_id
        if self.type in ("LocationCreate", "LocationUpdate") and self.id:
            return self.id
        return None


class CustomFieldValue(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    value: Any = None  # webhooks and reads carry {id, value}; writes send {id|key, field_value}


class ContactEvent(BaseModel):
    """ContactCreate / ContactUpdate: the contact fields sit flat beside `type` and `locationId`."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str = Field(min_length=1, max_length=100)
    location_id: str = Field(alias="locationId")
    email: str | None = None
    phone: str | None = None
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    name: str | None = None
    company_name: str | None = Field(default=None, alias="companyName")
    source: str | None = None
    address1: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = Field(default=None, alias="postalCode")
    country: str | None = None
    website: str | None = None
    dnd: bool = False
    assigned_to: str | None = Field(default=None, alias="assignedTo")
    tags: list[str] = Field(default_factory=list)
    custom_fields: list[CustomFieldValue] = Field(default_factory=list, alias="customFields")
    date_added: datetime | None = Field(default=None, alias="dateAdded")


class MessageEvent(BaseModel):
    """InboundMessage / OutboundMessage. Calls and voicemails are `messageType: "CALL"`, with the
    recording URLs in `attachments[]` (a voicemail is a CALL with `status: "voicemail"`)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    message_type: str | None = Field(default=None, alias="messageType")
    message_id: str | None = Field(default=None, alias="messageId", max_length=100)
    contact_id: str | None = Field(default=None, alias="contactId", max_length=100)
    attachments: list[str] = Field(default_factory=list)
    call_duration: int | None = Field(default=None, alias="callDuration")
    date_added: datetime | None = Field(default=None, alias="dateAdded")

    @property
    def is_call(self) -> bool:
        return (self.message_type or "").upper() == "CALL"

    def recordings(self) -> list[RemoteRecording]:
        """One RemoteRecording per attachment URL of a call; none for other message types.

        GoHighLevel's recording endpoint serves audio/x-wav, so a URL without a suffix is taken as wav.
        """
        if not self.is_call or not self.message_id:
            return []
        return [
            RemoteRecording(
                source="ghl", external_id=f"{self.message_id}:{index}", url=url,
                extension=safe_extension(url_extension(url), default="wav"), parent_external_id=self.message_id,
                recorded_at=self.date_added, duration_seconds=self.call_duration, contact_external_id=self.contact_id,
            )
            for index, url in enumerate(self.attachments)
            if url.startswith(("https://", "http://"))
        ]
