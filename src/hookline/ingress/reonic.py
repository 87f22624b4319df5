"""POST /webhooks/reonic: Reonic. `X-Reonic-Client-Id` names the connection whose `whsec_` secret signed it.

Reonic's bodies are thin (ids only); their handler (tasks/reonic_sync.fetch) reads current state
through the Reonic API. A handled type's body must carry the ids its handler reads (else 422); a
type with no handler (commercial projects, checklists, `test`) is stored as `ignored` and can be
replayed with `hookline events replay` once one exists.
"""

from __future__ import annotations

from starlette.requests import Request

from hookline.ingress.accept import Delivery, parse_object, required_text, validated
from hookline.ingress.connections import WEBHOOK_SECRET
from hookline.ingress.pipeline import RouteDoc, WebhookSource, rejected_signature
from hookline.integrations.errors import InvalidSignature
from hookline.integrations.reonic.verify import verify
from hookline.workers.handlers import handler_for


class ReonicSource(WebhookSource):
    provider = "reonic"
    path = "/webhooks/reonic"
    unavailable_status = 503  # Reonic retries any non-2xx (1 m, 5 m, 30 m, … 2 d)
    retry_after_seconds = 60
    doc = RouteDoc(
        "Reonic webhook (projects, contacts, offers)",
        headers={"X-Reonic-Client-Id": "the sending Reonic client; picks the signing secret",
                 "X-Reonic-Event-Id": "stable across redeliveries; the dedupe key",
                 "X-Reonic-Event": "the event type",
                 "X-Reonic-Timestamp": "unix seconds at signing",
                 "X-Reonic-Signature": "sha256=<hex HMAC-SHA256 of '{timestamp}.{raw body}'>"},
    )

    async def delivery(self, request: Request, body: bytes) -> Delivery:
        headers = request.headers
        client_id = required_text(headers.get("x-reonic-client-id"), "X-Reonic-Client-Id header", status=400)
        connection = await self.connections.resolve(self.provider, client_id, what="Reonic client id")
        secret = connection.secret(WEBHOOK_SECRET, self.provider)
        try:
            verify(body, headers, secret=secret, window=self.window)
        except InvalidSignature as exc:
            raise rejected_signature(self.provider, exc, connection_id=connection.connection_id) from None
        payload = parse_object(body)
        event_id = required_text(headers.get("x-reonic-event-id"), "X-Reonic-Event-Id header", status=400)
        event_type = required_text(headers.get("x-reonic-event") or payload.get("type"), "event type (X-Reonic-Event)",
                                   max_length=100)
        handler = handler_for(self.provider, event_type)
        if handler is not None and handler.schema is not None:  # ids its task could never read: 422 now
            validated(handler.schema, payload)
        return Delivery(connection.tenant_id, self.provider, event_type, event_id, payload, body)
