"""POST /webhooks/payments/{connection_token}: the billing provider (invoice paid / failed / refunded).

The URL token names the connection (`hookline connections add --provider payments` makes one);
its `webhook_secret` checks the Stripe-style `Stripe-Signature: t=…,v1=…` header. The events
feed dunning (workers/handlers.py: invoice.paid, invoice.payment_failed, charge.refunded → the
`dunning` queue); other types are stored `ignored`.
"""

from __future__ import annotations

from starlette.requests import Request

from hookline.ingress.accept import Delivery, parse_object, required_text, validated
from hookline.ingress.connections import WEBHOOK_SECRET
from hookline.ingress.pipeline import RouteDoc, WebhookSource, rejected_signature
from hookline.integrations.errors import InvalidSignature
from hookline.integrations.payments.verify import verify
from hookline.workers.handlers import handler_for


class PaymentSource(WebhookSource):
    provider = "payments"
    path = "/webhooks/payments/{connection_token}"
    unavailable_status = 503  # Stripe-style senders retry any non-2xx with backoff
    retry_after_seconds = 60
    doc = RouteDoc(
        "A billing-provider event (invoice.paid, invoice.payment_failed, charge.refunded, …)",
        headers={"Stripe-Signature": "t=<unix seconds>,v1=<hex HMAC-SHA256 of '{t}.{raw body}'>"},
        path_params={"connection_token": "the secret token of the tenant's payments connection"},
    )

    async def delivery(self, request: Request, body: bytes) -> Delivery:
        connection = await self.connections.resolve(self.provider, request.path_params["connection_token"], what="connection token")
        secret = connection.secret(WEBHOOK_SECRET, self.provider)
        try:
            verify(body, request.headers, secret=secret, window=self.window)
        except InvalidSignature as exc:
            raise rejected_signature(self.provider, exc, connection_id=connection.connection_id) from None
        payload = parse_object(body)
        event_id = required_text(payload.get("id"), "id (the provider's event id)")
        event_type = required_text(payload.get("type"), "type", max_length=100)
        handler = handler_for(self.provider, event_type)
        if handler is not None and handler.schema is not None:  # a body its task could never read: 422 now
            validated(handler.schema, payload)
        return Delivery(connection.tenant_id, self.provider, event_type, event_id, payload, body)
