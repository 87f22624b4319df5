"""App-level GoHighLevel webhooks (INSTALL, UNINSTALL): their own inbox, and what each one does.

They may name no tenant (an agency; a location not connected yet), so they are stored in
`ghl_app_events`, not the tenant-owned inbox. One whose `appId` is not our app's is `ignored`.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from hookline.db import global_session
from hookline.models import EventStatus, GhlAppEvent
from hookline.services import ghl_installs, tenants

log = structlog.get_logger(__name__)

INSTALL, UNINSTALL = "INSTALL", "UNINSTALL"
APP_EVENTS = frozenset({INSTALL, UNINSTALL})


def _text(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return value[:200] if isinstance(value, str) and value else None


def store(session: Session, dedupe_key: str, payload: dict[str, Any], our_app_id: str | None) -> tuple[int, str, bool]:
    """Insert the event unless its key is there already: (id, status, created). Safe to run twice."""
    app_id = _text(payload, "appId")
    status = EventStatus.PENDING if our_app_id and app_id == our_app_id else EventStatus.IGNORED
    row = {"event_type": str(payload.get("type"))[:100], "app_id": app_id, "company_id": _text(payload, "companyId"),
           "location_id": _text(payload, "locationId"), "payload": payload, "status": status.value}
    statement = insert(GhlAppEvent).values(dedupe_key=dedupe_key, **row).on_conflict_do_nothing(
        index_elements=[GhlAppEvent.dedupe_key])
    created = session.scalars(statement.returning(GhlAppEvent.id)).one_or_none()
    if created is not None:
        return created, status.value, True
    event_id, stored = session.execute(select(GhlAppEvent.id, GhlAppEvent.status)
                                       .where(GhlAppEvent.dedupe_key == dedupe_key)).one()
    return event_id, stored, False


def apply(event_id: int) -> tuple[int, str] | None:
    """Do what a pending event says, and mark it; an (install id, location id) to connect, if any.

    INSTALL of an agency's location: it joins the agency install as pending (the caller mints its
    token). UNINSTALL: the location's connection is uninstalled, or the agency's Company token deleted.
    """
    with global_session() as session:
        event = session.scalars(select(GhlAppEvent).where(GhlAppEvent.id == event_id,
                                                          GhlAppEvent.status == EventStatus.PENDING.value)
                                .with_for_update(skip_locked=True)).one_or_none()
        if event is None:  # done already, ignored, or another task holds it
            return None
        follow_up, status, note = None, EventStatus.PROCESSED.value, None
        if event.event_type == UNINSTALL and event.location_id:
            ghl_installs.uninstall_location(event.location_id)
        elif event.event_type == UNINSTALL and event.company_id:
            ghl_installs.uninstall_company(event.company_id)
        elif event.event_type == INSTALL and event.location_id:
            install_id = ghl_installs.agency_install(session, event.company_id) if event.company_id else None
            connected = tenants.find_connection(session, "ghl", event.location_id) is not None
            if install_id is not None and ghl_installs.add_pending(session, install_id, event.location_id):
                follow_up = (install_id, event.location_id)
            elif not connected:  # a location install: the OAuth callback connects it
                status, note = EventStatus.IGNORED.value, "no agency install of this company is stored"
        event.status, event.last_error, event.processed_at = status, note, func.now()
    log.info("ghl.app_event.applied", app_event_id=event_id, event_type=event.event_type, status=status)
    return follow_up


def pending_since(session: Session, seconds: float) -> list[int]:
    """Pending events received more than `seconds` ago: their task was lost (the broker was away)."""
    return list(session.scalars(select(GhlAppEvent.id).where(
        GhlAppEvent.status == EventStatus.PENDING.value,
        GhlAppEvent.received_at < func.now() - func.make_interval(0, 0, 0, 0, 0, 0, seconds))))
