"""The one handler table: (provider, event type) → the task that processes it, and its schema."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from hookline.integrations.ghl.schemas import ContactEvent
from hookline.integrations.reonic import schemas as reonic


@dataclass(frozen=True)
class Handler:
    task: str  # a task name; its module name is its queue (workers/routing.py)
    schema: type[BaseModel] | None = None  # checked at the door: a body that cannot parse is a 422


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ghl", "ContactCreate"): Handler("hookline.tasks.ghl_sync.upsert_contact", ContactEvent),
    ("ghl", "ContactUpdate"): Handler("hookline.tasks.ghl_sync.upsert_contact", ContactEvent),
    ("reonic", "contact_created"): Handler("hookline.tasks.reonic_sync.fetch_contact", reonic.ContactEvent),
}


def handler_for(provider: str, event_type: str) -> Handler | None:
    """None: no handler yet; the event is stored as `ignored`, not rejected."""
    return HANDLERS.get((provider, event_type))
