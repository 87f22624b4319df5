"""GoHighLevel's app-level webhooks (INSTALL, UNINSTALL) on the GHL route: stored in their own inbox.

They come to the app's default webhook URL, verified like every GoHighLevel delivery, and may
name a location no tenant has yet (or only an agency): instead of the tenant inbox (and a 404
for an unknown location) they go to `ghl_app_events` and a system task on ghl_sync.
"""

from __future__ import annotations

from typing import Any

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from hookline.db import global_session
from hookline.ingress.pipeline import accepted
from hookline.integrations.ghl.auth import app_id_of
from hookline.services import ghl_app_events

log = structlog.get_logger(__name__)
TASK = "hookline.tasks.ghl_sync.apply_app_event"


def is_app_event(event_type: str) -> bool:
    return event_type in ghl_app_events.APP_EVENTS


class AppEvents:
    def __init__(self, client_id: str | None) -> None:
        self.app_id = app_id_of(client_id)

    async def accept(self, dedupe_key: str, payload: dict[str, Any]) -> Response:
        """Store (202), or find the twin (200); a pending one's task is sent after the commit."""
        event_id, status, created = await run_in_threadpool(self._store, dedupe_key, payload)
        log.info("ghl.app_event.accepted", app_event_id=event_id, event_type=payload.get("type"), status=status,
                 duplicate=not created)
        return accepted(event_id, status, not created)

    def _store(self, dedupe_key: str, payload: dict[str, Any]) -> tuple[int, str, bool]:
        with global_session() as session:
            stored = ghl_app_events.store(session, dedupe_key, payload, self.app_id)
        if stored[2] and stored[1] == "pending":
            from hookline.transport.publish import publish_system  # the Celery app reads the broker URL on import

            try:  # rare events: Celery's own publish; one lost here is sent again by beat's resume_installs
                publish_system(TASK, app_event_id=stored[0])
            except Exception as exc:  # noqa: BLE001 - the row is committed; beat's resume_installs sends it later
                log.warning("ghl.app_event.publish_failed", app_event_id=stored[0], error=repr(exc)[:300])
        return stored
