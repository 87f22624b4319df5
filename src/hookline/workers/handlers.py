"""The one handler table: (provider, event type) → the task that processes it, and its schema."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from hookline.integrations.ghl.schemas import EVENTS as GHL_EVENTS
from hookline.integrations.payments.schemas import ChargeEvent, InvoiceEvent
from hookline.integrations.reonic.schemas import EVENTS as REONIC_EVENTS


@dataclass(frozen=True)
class Handler:
    task: str  # a task name; its module name is its queue (workers/routing.py)
    schema: type[BaseModel] | None = None  # checked at the door: a body that cannot parse is a 422


REGISTER_RECORDINGS = "hookline.tasks.audio_upload.register_recordings"

HANDLERS: dict[tuple[str, str], Handler] = {
    # Every GoHighLevel contact, opportunity, appointment, note and task event: one task applies them all.
    **{("ghl", event_type): Handler("hookline.tasks.ghl_sync.apply_event", kind.schema)
       for event_type, kind in GHL_EVENTS.items()},
    # Calls and voicemails carry recording URLs; other message types are marked processed and ignored.
    # The tenant's name and time zone follow its location (tasks/ghl_sync.follow_location).
    ("ghl", "LocationUpdate"): Handler("hookline.tasks.ghl_sync.follow_location"),
    ("ghl", "InboundMessage"): Handler(REGISTER_RECORDINGS),
    ("ghl", "OutboundMessage"): Handler(REGISTER_RECORDINGS),
    ("zoom", "recording.completed"): Handler(REGISTER_RECORDINGS),
    ("zoom", "phone.recording_completed"): Handler(REGISTER_RECORDINGS),
    ("payments", "invoice.paid"): Handler("hookline.tasks.dunning.apply_payment_event", InvoiceEvent),
    ("payments", "invoice.payment_failed"): Handler("hookline.tasks.dunning.apply_payment_event", InvoiceEvent),
    ("payments", "charge.refunded"): Handler("hookline.tasks.dunning.apply_payment_event", ChargeEvent),
    # Reonic's contact, project and offer events carry ids: one task reads the object and applies it.
    # commercialProject_*, projectChecklist_* and test have no table here: `ignored` (integrations/reonic/schemas.py).
    **{("reonic", event_type): Handler("hookline.tasks.reonic_sync.fetch", kind.schema)
       for event_type, kind in REONIC_EVENTS.items()},
}


def handler_for(provider: str, event_type: str) -> Handler | None:
    """None: no handler yet; the event is stored as `ignored`, not rejected."""
    return HANDLERS.get((provider, event_type))
