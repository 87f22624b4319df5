"""GoHighLevel API v2 objects as typed models: what the client returns (reads) and sends (writes)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# One definition per record, for webhooks and reads alike (schemas.py): the client's reads return these.
from hookline.integrations.ghl.schemas import Appointment as Appointment
from hookline.integrations.ghl.schemas import Contact as Contact
from hookline.integrations.ghl.schemas import Opportunity as Opportunity


class Read(BaseModel):
    """An object as GoHighLevel returns it: unknown fields are kept, not refused."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Write(BaseModel):
    """A request body: our field names, GoHighLevel's camelCase on the wire, unset fields left out."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def body(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class CustomFieldIn(Write):
    """A custom field value as writes send it; the published schema requires the field's `id`."""

    id: str
    key: str | None = None
    field_value: Any = None


class ContactIn(Write):
    """`POST /contacts/upsert` (the location's duplicate rule decides: email or phone). `tags` replaces all tags."""

    location_id: str = Field(alias="locationId")
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    address1: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = Field(default=None, alias="postalCode")
    country: str | None = None
    website: str | None = None
    timezone: str | None = None
    company_name: str | None = Field(default=None, alias="companyName")
    source: str | None = None
    assigned_to: str | None = Field(default=None, alias="assignedTo")
    dnd: bool | None = None
    tags: list[str] | None = None
    custom_fields: list[CustomFieldIn] | None = Field(default=None, alias="customFields")


class Upserted(Read):
    new: bool = False
    contact: Contact


class ContactPage(Read):
    contacts: list[Contact] = Field(default_factory=list)
    total: int = 0


class Stage(Read):
    id: str
    name: str | None = None


class Calendar(Read):
    """`GET /calendars/` lists them; appointments name theirs by id."""

    id: str
    name: str | None = None


class CalendarPage(Read):
    calendars: list[Calendar] = Field(default_factory=list)


class Pipeline(Read):
    id: str
    name: str | None = None
    stages: list[Stage] = Field(default_factory=list)

    @field_validator("stages", mode="before")
    @classmethod
    def _stage_objects(cls, value: Any) -> Any:
        # The published schema types stages as arrays (its example: [[]]); the API sends {id, name}.
        return [stage for stage in value if isinstance(stage, dict)] if isinstance(value, list) else value


Status = Literal["open", "won", "lost", "abandoned"]


class OpportunityIn(Write):
    location_id: str = Field(alias="locationId")
    pipeline_id: str = Field(alias="pipelineId")
    name: str
    status: Status
    contact_id: str = Field(alias="contactId")
    pipeline_stage_id: str | None = Field(default=None, alias="pipelineStageId")
    monetary_value: float | None = Field(default=None, alias="monetaryValue")
    assigned_to: str | None = Field(default=None, alias="assignedTo")


class OpportunityUpdate(Write):
    name: str | None = None
    pipeline_id: str | None = Field(default=None, alias="pipelineId")
    pipeline_stage_id: str | None = Field(default=None, alias="pipelineStageId")
    status: Status | None = None
    monetary_value: float | None = Field(default=None, alias="monetaryValue")
    assigned_to: str | None = Field(default=None, alias="assignedTo")


class SearchMeta(Read):
    total: int | None = None
    start_after_id: str | None = Field(default=None, alias="startAfterId")
    start_after: int | None = Field(default=None, alias="startAfter")
    next_page: int | None = Field(default=None, alias="nextPage")


class OpportunityPage(Read):
    opportunities: list[Opportunity] = Field(default_factory=list)
    meta: SearchMeta = Field(default_factory=SearchMeta)


AppointmentStatus = Literal["new", "confirmed", "cancelled", "showed", "noshow", "invalid"]


class AppointmentUpdate(Write):
    """`PUT /calendars/events/appointments/{id}`: what may change (the read side is schemas.Appointment)."""

    title: str | None = None
    start_time: str | None = Field(default=None, alias="startTime")  # ISO 8601 with offset
    end_time: str | None = Field(default=None, alias="endTime")
    status: AppointmentStatus | None = Field(default=None, alias="appointmentStatus")
    assigned_user_id: str | None = Field(default=None, alias="assignedUserId")


class AppointmentIn(AppointmentUpdate):
    """`POST /calendars/events/appointments`: the update's fields, and where and for whom."""

    calendar_id: str = Field(alias="calendarId")
    location_id: str = Field(alias="locationId")
    contact_id: str = Field(alias="contactId")
    start_time: str = Field(alias="startTime")
    ignore_free_slot_validation: bool | None = Field(default=None, alias="ignoreFreeSlotValidation")


class Note(Read):
    id: str
    body: str | None = None
    contact_id: str | None = Field(default=None, alias="contactId")
    date_added: str | None = Field(default=None, alias="dateAdded")


class Location(Read):
    """`GET /locations/{locationId}`: the sub-account's name and time zone (IANA, e.g. "US/Central")."""

    id: str
    name: str | None = None
    timezone: str | None = None
    company_id: str | None = Field(default=None, alias="companyId")


class InstalledLocation(Read):
    """One location of `GET /oauth/installedLocations` (its id is `_id`)."""

    id: str = Field(alias="_id")
    name: str | None = None
    is_installed: bool | None = Field(default=None, alias="isInstalled")


class InstalledLocationPage(Read):
    locations: list[InstalledLocation] = Field(default_factory=list)
    count: int | None = None
