"""POST /webhooks/ghl: GoHighLevel. The app's Ed25519 key verifies the raw body first; `locationId` names the tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from redis import asyncio as aioredis
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response

from hookline.config import Settings
from hookline.ingress.accept import Delivery, body_hash, parse_object, validated
from hookline.ingress.connections import ConnectionDirectory
from hookline.ingress.errors import WebhookRejected
from hookline.ingress.ghl_app import AppEvents, is_app_event
from hookline.ingress.pipeline import RouteDoc, WebhookSource, rejected_signature
from hookline.integrations.errors import InvalidSignature
from hookline.integrations.ghl.schemas import Envelope
from hookline.integrations.ghl.verify import verify
from hookline.integrations.signing import require_fresh
from hookline.services.ghl_webhooks import KEY_MISSING, KEY_SETTING
from hookline.workers.handlers import handler_for

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class GhlKeys:
    ed25519: Ed25519PublicKey | None
    rsa: RSAPublicKey | None = None  # only when HOOKLINE_GHL_ACCEPT_RSA_SIGNATURES is on

    @classmethod
    def from_settings(cls, settings: Settings) -> GhlKeys:
        ed_pem = settings.ghl_webhook_ed25519_public_key
        rsa_pem = settings.ghl_webhook_public_key if settings.ghl_accept_rsa_signatures else None
        return cls(
            ed25519=load_pem_public_key(ed_pem.encode()) if ed_pem else None,  # type: ignore[arg-type]
            rsa=load_pem_public_key(rsa_pem.encode()) if rsa_pem else None,  # type: ignore[arg-type]
        )


def signed_at(value: Any) -> float | None:
    """GoHighLevel's signed `timestamp` (ISO 8601; epoch seconds or ms accepted too) as unix seconds."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return value / 1000 if value > 1e11 else float(value)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidSignature("malformed timestamp") from None
    if parsed.tzinfo is None:
        raise InvalidSignature("timestamp without a time zone")
    return parsed.timestamp()


class GhlSource(WebhookSource):
    provider = "ghl"
    path = "/webhooks/ghl"
    # GoHighLevel retries only on 429: about 6 times, 10 minutes apart.
    unavailable_status = 429
    retry_after_seconds = 600
    doc = RouteDoc(
        "GoHighLevel webhook (Marketplace app events)",
        headers={"x-ghl-signature": "Ed25519 signature of the raw body, base64",
                 "x-wh-signature": "legacy RSA-SHA256 signature of the raw body, base64 (refused unless "
                                   "HOOKLINE_GHL_ACCEPT_RSA_SIGNATURES is on)"},
    )

    def __init__(self, keys: GhlKeys, *, connections: ConnectionDirectory, window: int, retry_grace: int,
                 redis: aioredis.Redis | None, app_events: AppEvents | None = None) -> None:
        super().__init__(connections=connections, window=window)
        self.keys, self.retry_grace, self.redis = keys, retry_grace, redis
        self.app_events = app_events or AppEvents(None)

    async def delivery(self, request: Request, body: bytes) -> Delivery | Response:
        if self.keys.ed25519 is None and (self.keys.rsa is None or not request.headers.get("x-wh-signature")):
            log.error("webhook.key_not_configured", provider=self.provider, setting=KEY_SETTING)
            raise WebhookRejected(401, "key_not_configured", KEY_MISSING)
        try:
            scheme = verify(body, request.headers, ed25519_key=self.keys.ed25519, rsa_key=self.keys.rsa)
        except InvalidSignature as exc:
            raise rejected_signature(self.provider, exc) from None
        payload = parse_object(body)
        envelope = validated(Envelope, payload)
        request.state.ghl_webhook_id = envelope.webhook_id
        await self._require_fresh(payload.get("timestamp"), envelope.webhook_id)
        if is_app_event(envelope.type):  # INSTALL / UNINSTALL: may name no tenant yet (ingress/ghl_app.py)
            return await self.app_events.accept(envelope.webhook_id or body_hash(body), payload)
        if envelope.location is None:  # agency-level events: no location, so no tenant to route to
            raise WebhookRejected(422, "no_location", "the payload names no location (locationId)")
        handler = handler_for(self.provider, envelope.type)
        if handler is not None and handler.schema is not None:
            validated(handler.schema, payload)
        connection = await self.connections.resolve(self.provider, envelope.location, what="GoHighLevel location")
        log.debug("ghl.webhook.verified", scheme=scheme, tenant_id=connection.tenant_id)
        return Delivery(connection.tenant_id, self.provider, envelope.type,
                        envelope.webhook_id or body_hash(body), payload, body)

    async def _require_fresh(self, timestamp: Any, webhook_id: str | None) -> None:
        try:
            at = signed_at(timestamp)
            if at is not None:
                require_fresh(at, self.window)
        except InvalidSignature as exc:
            if not await self._retry_we_asked_for(webhook_id):
                raise rejected_signature(self.provider, exc, webhook_id=webhook_id) from None

    def _retry_key(self, webhook_id: str) -> str:
        return f"hookline:ghl:retry:{webhook_id}"

    async def _retry_we_asked_for(self, webhook_id: str | None) -> bool:
        """A stale delivery is a replay unless we answered 429 to this very webhookId recently."""
        if not webhook_id or self.redis is None or not self.retry_grace:
            return False
        try:
            return bool(await self.redis.exists(self._retry_key(webhook_id)))
        except (RedisError, OSError) as exc:
            log.warning("ghl.retry_grace_unavailable", error=repr(exc))
            return False

    async def on_retry_requested(self, request: Request) -> None:
        webhook_id = getattr(request.state, "ghl_webhook_id", None)
        if not webhook_id or self.redis is None or not self.retry_grace:
            return
        try:
            await self.redis.set(self._retry_key(webhook_id), 1, ex=self.retry_grace)
        except (RedisError, OSError) as exc:
            log.warning("ghl.retry_grace_unavailable", error=repr(exc))
