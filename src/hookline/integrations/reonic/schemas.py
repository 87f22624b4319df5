"""Reonic webhook bodies: `{version, type, occurredAt, data: {…ids}}`; ids only, the handler fetches the rest.

EVENTS says which object each handled type is about. Not handled, so stored `ignored`:
`commercialProject_*` (Hookline mirrors no commercial projects), `projectChecklist_*` (nor
checklists) and `test`. `project_*` events name their vertical in `projectType`; a commercial one
is handled by being marked `ignored` too (tasks/reonic_sync.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hookline.integrations.fields import Id


class Ids(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    @property
    def external_id(self) -> str:
        """The id of the object the event is about."""
        raise NotImplementedError


class ContactIds(Ids):
    contact_id: Id = Field(alias="contactId")

    @property
    def external_id(self) -> str:
        return self.contact_id


class ProjectIds(Ids):
    project_id: Id = Field(alias="projectId")
    # The deprecated residentialProject_* events carry no projectType: they are residential.
    project_type: Literal["residential", "commercial"] = Field(default="residential", alias="projectType")

    @property
    def external_id(self) -> str:
        return self.project_id


class OfferIds(ProjectIds):
    signature_request_id: Id = Field(alias="signatureRequestId")

    @property
    def external_id(self) -> str:
        return self.signature_request_id


class Event(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    data: Ids


class ContactEvent(Event):
    """contact_created (the one contact event Reonic documents; not sent when a contact is reused)."""

    data: ContactIds


class ProjectEvent(Event):
    data: ProjectIds


class OfferEvent(Event):
    """A residential offer's signature request changed: requested, signed or withdrawn."""

    data: OfferIds


@dataclass(frozen=True)
class EventKind:
    schema: type[Event]
    record: Literal["contact", "project", "offer"]  # which object it is about (services/crm.APPLIERS)


PROJECT_EVENTS = ("project_created", "project_kanbanColumnChanged", "project_dealStateChanged", "project_archived",
                  # deprecated per-vertical twins, still sent to old subscriptions
                  "residentialProject_created", "residentialProject_kanbanColumnChanged",
                  "residentialProject_dealStateChanged")
OFFER_EVENTS = ("residentialOffer_signatureRequested", "residentialOffer_signed", "residentialOffer_signatureWithdrawn")

EVENTS: dict[str, EventKind] = {
    "contact_created": EventKind(ContactEvent, "contact"),
    **{event_type: EventKind(ProjectEvent, "project") for event_type in PROJECT_EVENTS},
    **{event_type: EventKind(OfferEvent, "offer") for event_type in OFFER_EVENTS},
}
