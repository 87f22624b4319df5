"""GoHighLevel webhook bodies as typed models; provider quirks stay in here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from hookline.integrations.download import RemoteRecording, safe_extension, url_extension
from hookline.integrations.fields import Id, Instant


class Envelope(BaseModel):
    """The top level of a GoHighLevel webhook: its type, its location, its delivery id.

    The documented bodies name the location three ways: `locationId` (most events), `altId`
    with `altType: "location"` (invoice events, which also carry no `type`), and `id` on
    LocationCreate / LocationUpdate. Agency-level events (INSTALL for a company, UserCreate of
    an agency user) carry only `companyId` and have no location.
    """

    # Other fields are left alone (not copied into the model): each handler's schema reads its own.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

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


class Record(BaseModel):
    """One CRM record's fields as both webhooks and API reads carry them: one definition for both.

    Field names are Hookline's column names (aliases give GoHighLevel's); `values()` is the
    record's columns. `date_updated` is its version when GoHighLevel says it.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    NOT_COLUMNS: ClassVar[frozenset[str]] = frozenset({"id", "location_id", "timestamp", "date_updated"})

    id: Id
    date_updated: Instant | None = Field(default=None, alias="dateUpdated")

    def values(self) -> dict[str, Any]:
        return self.model_dump(exclude=set(self.NOT_COLUMNS))


class Contact(Record):
    """A contact: flat in ContactCreate / Update / Delete / TagUpdate / DndUpdate and in the API's reads."""

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
    dnd_settings: dict[str, Any] | None = Field(default=None, alias="dndSettings")
    assigned_to: str | None = Field(default=None, alias="assignedTo")
    tags: list[str] = Field(default_factory=list)
    custom_fields: list[CustomFieldValue] = Field(default_factory=list, alias="customFields")
    date_added: Instant | None = Field(default=None, alias="dateAdded")


class Opportunity(Record):
    """An opportunity: flat in Opportunity* events; its pipeline and stage are named by id only.

    Webhooks say `dateAdded` / `dateUpdated`, `GET /opportunities/search` says `createdAt` / `updatedAt`.
    """

    name: str | None = None
    status: str | None = None
    monetary_value: Decimal | None = Field(default=None, alias="monetaryValue")
    source: str | None = None
    assigned_to: str | None = Field(default=None, alias="assignedTo")
    contact_external_id: str | None = Field(default=None, alias="contactId")
    pipeline_id: str | None = Field(default=None, alias="pipelineId")
    stage_id: str | None = Field(default=None, alias="pipelineStageId")
    date_added: Instant | None = Field(default=None, validation_alias=AliasChoices("dateAdded", "createdAt"))
    date_updated: Instant | None = Field(default=None, validation_alias=AliasChoices("dateUpdated", "updatedAt"))


class Appointment(Record):
    """An appointment: nested under `appointment` in Appointment* events, flat in calendar reads."""

    calendar_id: str | None = Field(default=None, alias="calendarId")
    contact_external_id: str | None = Field(default=None, alias="contactId")
    title: str | None = None
    status: str | None = Field(default=None, alias="appointmentStatus")
    assigned_user_id: str | None = Field(default=None, alias="assignedUserId")
    users: list[str] = Field(default_factory=list)
    address: str | None = None
    notes: str | None = None
    source: str | None = None
    group_id: str | None = Field(default=None, alias="groupId")
    start_time: Instant | None = Field(default=None, alias="startTime")
    end_time: Instant | None = Field(default=None, alias="endTime")
    date_added: Instant | None = Field(default=None, alias="dateAdded")


class RecordEvent(Record):
    """An event that carries one CRM record: its id, its fields, and when it changed.

    The version is the record's `dateUpdated` when the body has one, else the signed
    delivery's `timestamp` (documented examples have neither; the caller falls back).
    """

    location_id: str = Field(alias="locationId")
    timestamp: Instant | None = None

    @property
    def record(self) -> Record:
        return self

    @property
    def external_id(self) -> str:
        return self.record.id

    @property
    def version(self) -> datetime | None:
        return self.record.date_updated or self.timestamp

    def values(self) -> dict[str, Any]:
        return self.record.model_dump(exclude=set(self.NOT_COLUMNS))


class ContactEvent(RecordEvent, Contact):
    """ContactCreate / Update / Delete / TagUpdate / DndUpdate: the contact sits flat beside `type`."""


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


class OpportunityEvent(RecordEvent, Opportunity):
    """Opportunity*: flat; the pipeline and stage are named by id only."""


class AppointmentEvent(RecordEvent):
    """Appointment*: the one family that nests its record (under `appointment`) and has `dateUpdated`."""

    id: str | None = None  # type: ignore[assignment]  # not in the body: the id is the appointment's
    appointment: Appointment

    @property
    def record(self) -> Appointment:
        return self.appointment


class NoteEvent(RecordEvent):
    contact_external_id: str | None = Field(default=None, alias="contactId")
    body: str | None = None
    date_added: Instant | None = Field(default=None, alias="dateAdded")


class TaskEvent(RecordEvent):
    """TaskCreate / Complete / Delete: a to-do in the CRM. TaskComplete says so by its type only."""

    contact_external_id: str | None = Field(default=None, alias="contactId")
    title: str | None = None
    body: str | None = None
    assigned_to: str | None = Field(default=None, alias="assignedTo")
    due_date: Instant | None = Field(default=None, alias="dueDate")
    date_added: Instant | None = Field(default=None, alias="dateAdded")


@dataclass(frozen=True)
class EventKind:
    """What one GoHighLevel event type does to which record.

    `fields`: a partial event (a tag, stage or status change) updates only these columns of an
    existing row; None: all of them. `sets`: columns the type itself implies (TaskComplete).
    """

    schema: type[RecordEvent]
    record: str  # contact, deal, appointment, note, task
    delete: bool = False
    fields: frozenset[str] | None = None
    sets: dict[str, Any] = field(default_factory=dict)


def _family(schema: type[RecordEvent], record: str, prefix: str, verbs: tuple[str, ...] = ("Create", "Update"),
            **partial: EventKind) -> dict[str, EventKind]:
    """{prefix}{verb} for each verb, {prefix}Delete, and the family's partial events."""
    kinds = {f"{prefix}{verb}": EventKind(schema, record) for verb in verbs}
    return {**kinds, f"{prefix}Delete": EventKind(schema, record, delete=True), **partial}


def _partial(schema: type[RecordEvent], record: str, *fields: str, **sets: Any) -> EventKind:
    return EventKind(schema, record, fields=frozenset(fields), sets=sets)


# Every documented contact, opportunity, appointment, note and task event (INTEGRATIONS.md, §1
# Webhooks). InboundMessage / OutboundMessage (call recordings) are handled elsewhere.
EVENTS: dict[str, EventKind] = {
    **_family(ContactEvent, "contact", "Contact",
              ContactTagUpdate=_partial(ContactEvent, "contact", "tags"),
              ContactDndUpdate=_partial(ContactEvent, "contact", "dnd", "dnd_settings")),
    **_family(OpportunityEvent, "deal", "Opportunity",
              OpportunityStageUpdate=_partial(OpportunityEvent, "deal", "pipeline_id", "stage_id"),
              OpportunityStatusUpdate=_partial(OpportunityEvent, "deal", "status"),
              OpportunityMonetaryValueUpdate=_partial(OpportunityEvent, "deal", "monetary_value"),
              OpportunityAssignedToUpdate=_partial(OpportunityEvent, "deal", "assigned_to")),
    **_family(AppointmentEvent, "appointment", "Appointment"),
    **_family(NoteEvent, "note", "Note"),
    # GoHighLevel documents no TaskUpdate: TaskCreate, TaskComplete, TaskDelete.
    **_family(TaskEvent, "task", "Task", ("Create",),
              TaskComplete=_partial(TaskEvent, "task", "completed", completed=True)),
}
