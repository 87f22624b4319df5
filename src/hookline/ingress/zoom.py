"""POST /webhooks/zoom: Zoom. `payload.account_id` names the connection whose secret token signed it.

Zoom validates the endpoint (on setup and every 72 h) with `endpoint.url_validation`, which
names no account: the answer uses the secret token of the Zoom connection whose token
verifies the request's signature.
"""

from __future__ import annotations

from typing import Any

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from hookline.db import global_session
from hookline.ingress.accept import Delivery, body_hash, parse_object, required_text
from hookline.ingress.connections import WEBHOOK_SECRET
from hookline.ingress.pipeline import RouteDoc, WebhookSource, rejected_signature
from hookline.integrations.errors import InvalidSignature
from hookline.integrations.zoom.verify import url_validation_answer, verify
from hookline.services.tenants import provider_secrets

log = structlog.get_logger(__name__)
URL_VALIDATION = "endpoint.url_validation"


def object_id(payload: dict[str, Any]) -> str | None:
    """The id of what the event is about: a meeting's uuid or id, else a phone event's recording ids."""
    inner = payload.get("payload")
    obj = inner.get("object") if isinstance(inner, dict) else None
    if not isinstance(obj, dict):
        return None
    for key in ("uuid", "id"):
        if isinstance(obj.get(key), (str, int)) and not isinstance(obj.get(key), bool):
            return str(obj[key])
    recordings = obj.get("recordings")
    if isinstance(recordings, list):
        ids = [str(r["id"]) for r in recordings if isinstance(r, dict) and isinstance(r.get("id"), (str, int))]
        return ",".join(ids) or None
    return None


def _zoom_secrets() -> list[str]:
    with global_session() as session:
        return [s for s in provider_secrets(session, "zoom", WEBHOOK_SECRET) if isinstance(s, str) and s]


class ZoomSource(WebhookSource):
    provider = "zoom"
    path = "/webhooks/zoom"
    unavailable_status = 503  # Zoom retries anything but 200/204 within 3 s (+5, +20, +60 min)
    retry_after_seconds = 300
    doc = RouteDoc(
        "Zoom webhook (recordings) and its endpoint.url_validation challenge",
        headers={"x-zm-request-timestamp": "unix seconds at signing",
                 "x-zm-signature": "v0=<hex HMAC-SHA256 of 'v0:{timestamp}:{raw body}'>"},
    )

    async def delivery(self, request: Request, body: bytes) -> Delivery | JSONResponse:
        payload = parse_object(body)
        event = required_text(payload.get("event"), "event", max_length=100)
        if event == URL_VALIDATION:
            return await self._answer_challenge(request, body, payload)
        inner = payload.get("payload")
        account_id = required_text(inner.get("account_id") if isinstance(inner, dict) else None, "payload.account_id")
        connection = await self.connections.resolve(self.provider, account_id, what="Zoom account")
        secret = connection.secret(WEBHOOK_SECRET, self.provider)
        try:
            verify(body, request.headers, secret=secret, window=self.window)
        except InvalidSignature as exc:
            raise rejected_signature(self.provider, exc, connection_id=connection.connection_id) from None
        about, at = object_id(payload), payload.get("event_ts")
        dedupe = f"{event}:{about}:{at}" if about and isinstance(at, int) else body_hash(body)
        return Delivery(connection.tenant_id, self.provider, event, dedupe[:200], payload, body)

    async def _answer_challenge(self, request: Request, body: bytes, payload: dict[str, Any]) -> JSONResponse:
        inner = payload.get("payload")
        plain = required_text(inner.get("plainToken") if isinstance(inner, dict) else None, "payload.plainToken")
        for secret in await run_in_threadpool(_zoom_secrets):
            try:
                verify(body, request.headers, secret=secret, window=self.window)
            except InvalidSignature:
                continue
            log.info("zoom.url_validation.answered")
            return JSONResponse(url_validation_answer(secret, plain))
        exc = InvalidSignature("no Zoom connection's secret token verifies this challenge")
        raise rejected_signature(self.provider, exc) from None
