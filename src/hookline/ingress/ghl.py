"""POST /webhooks/ghl: verify, parse, resolve the tenant by locationId, store, publish."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from hookline.config import Settings
from hookline.db import global_session
from hookline.ingress.accept import accept, body_hash, parse_object, read_body
from hookline.ingress.errors import WebhookRejected
from hookline.workers.handlers import handler_for
from hookline.integrations.errors import InvalidSignature
from hookline.integrations.ghl.schemas import Envelope
from hookline.integrations.ghl.verify import verify
from hookline.services.tenants import find_connection

log = structlog.get_logger(__name__)
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class GhlKeys:
    rsa: RSAPublicKey
    ed25519: Ed25519PublicKey | None

    @classmethod
    def from_settings(cls, settings: Settings) -> GhlKeys:
        ed_pem = settings.ghl_webhook_ed25519_public_key
        return cls(
            rsa=load_pem_public_key(settings.ghl_webhook_public_key.encode()),  # type: ignore[arg-type]
            ed25519=load_pem_public_key(ed_pem.encode()) if ed_pem else None,  # type: ignore[arg-type]
        )


def _resolve_tenant(location_id: str) -> int | None:
    with global_session() as session:
        connection = find_connection(session, "ghl", location_id)
        return connection.tenant_id if connection else None


def _validated(schema: type[ModelT], payload: dict) -> ModelT:
    try:
        return schema.model_validate(payload)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:5])
        raise WebhookRejected(422, "invalid_payload", detail) from None


class GhlWebhook:
    def __init__(self, keys: GhlKeys, max_bytes: int) -> None:
        self.keys, self.max_bytes = keys, max_bytes

    async def handle(self, request: Request) -> JSONResponse:
        body = await read_body(request, self.max_bytes)
        try:
            scheme = verify(body, request.headers, rsa_key=self.keys.rsa, ed25519_key=self.keys.ed25519)
        except InvalidSignature as exc:
            log.warning("ghl.webhook.invalid_signature", reason=exc.reason)
            raise WebhookRejected(401, "invalid_signature", exc.reason) from None
        payload = parse_object(body)
        envelope = _validated(Envelope, payload)
        if envelope.location is None:  # agency-level events: no location, so no tenant to route to
            raise WebhookRejected(422, "no_location", "the payload names no location (locationId)")
        handler = handler_for("ghl", envelope.type)
        if handler is not None and handler.schema is not None:
            _validated(handler.schema, payload)
        tenant_id = await run_in_threadpool(_resolve_tenant, envelope.location)
        if tenant_id is None:
            log.warning("ghl.webhook.unknown_location", location_id=envelope.location)
            raise WebhookRejected(404, "unknown_location", f"no tenant is connected to location {envelope.location!r}")
        stored = await run_in_threadpool(
            accept,
            tenant_id=tenant_id,
            provider="ghl",
            event_type=envelope.type,
            dedupe_key=envelope.webhook_id or body_hash(body),
            payload=payload,
        )
        duplicate = not stored.created
        log.info("ghl.webhook.accepted", tenant_id=tenant_id, event_type=envelope.type, event_id=stored.event_id,
                 status=stored.status, duplicate=duplicate, scheme=scheme)
        body_out = {"event_id": stored.event_id, "status": stored.status, "duplicate": duplicate}
        return JSONResponse(body_out, status_code=200 if duplicate else 202)
