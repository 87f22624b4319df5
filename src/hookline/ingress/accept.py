"""The part every webhook route shares: read the body, store it in the inbox, commit, publish."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import structlog
from starlette.requests import Request

from hookline.db import tenant_session
from hookline.ingress.errors import WebhookRejected
from hookline.workers.handlers import handler_for
from hookline.models import EventStatus
from hookline.services import inbox
from hookline.workers.publish import publish

log = structlog.get_logger(__name__)


async def read_body(request: Request, limit: int) -> bytes:
    """The raw JSON body: 415 for another content type, 413 past `limit` bytes without reading it all."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise WebhookRejected(415, "unsupported_media_type", f"content type must be application/json, got {media_type or 'none'!r}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise WebhookRejected(413, "payload_too_large", f"body exceeds {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise WebhookRejected(413, "payload_too_large", f"body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        raise WebhookRejected(400, "invalid_json", f"body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise WebhookRejected(400, "invalid_json", "body must be a JSON object")
    return payload


def body_hash(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def accept(*, tenant_id: int, provider: str, event_type: str, dedupe_key: str, payload: dict[str, Any]) -> inbox.Stored:
    """Store the event (once per dedupe key), commit, then publish it to its task's queue.

    Runs in a worker thread. The inbox row is committed before anything is published, so a
    2xx never precedes durability. A failed publish leaves `published_at` empty for the relay.
    """
    handler = handler_for(provider, event_type)
    status = EventStatus.PENDING if handler else EventStatus.IGNORED
    with tenant_session(tenant_id) as session:
        stored = inbox.store(
            session, tenant_id, provider=provider, event_type=event_type, dedupe_key=dedupe_key, payload=payload,
            status=status,
        )
    if handler is not None and not stored.published:
        try:
            publish(handler.task, tenant_id=tenant_id, event_id=stored.event_id)
        except Exception as exc:  # broker down: the committed row is the source of truth
            log.warning("ingress.publish_failed", tenant_id=tenant_id, event_id=stored.event_id, error=repr(exc))
        else:
            with tenant_session(tenant_id) as session:
                inbox.mark_published(session, tenant_id, stored.event_id)
    return stored
