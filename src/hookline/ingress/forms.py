"""POST /webhooks/forms/{tenant_slug}: web forms (a form backend or a site's server), keyed per tenant.

The tenant's `X-Api-Key` is checked against the SHA-256 stored on its `forms` connection
(`hookline forms new-key`); a tenant with no key accepts nothing. JSON and urlencoded bodies.
"""

from __future__ import annotations

import hashlib

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from hookline.db import global_session
from hookline.ingress.accept import FORM, JSON, Delivery, body_hash, media_type, parse_form, parse_object, required_text
from hookline.ingress.connections import FORM_KEY_HASH
from hookline.ingress.errors import WebhookRejected
from hookline.ingress.pipeline import RouteDoc, WebhookSource, rejected_signature
from hookline.integrations.errors import InvalidSignature
from hookline.integrations.signing import same_digest
from hookline.services.tenants import get_by_slug

log = structlog.get_logger(__name__)
EVENT_TYPE = "form.submitted"


def _tenant_exists(slug: str) -> bool:
    with global_session() as session:
        return get_by_slug(session, slug) is not None


class FormSource(WebhookSource):
    provider = "forms"
    path = "/webhooks/forms/{tenant_slug}"
    media_types = (JSON, FORM)
    unavailable_status = 503
    retry_after_seconds = 30
    doc = RouteDoc(
        "A web-form submission for one tenant (JSON or urlencoded)",
        headers={"X-Api-Key": "the tenant's forms API key (hookline forms new-key)",
                 "Idempotency-Key": "optional; the dedupe key (else a hash of the body)"},
        path_params={"tenant_slug": "the tenant's slug"},
    )

    async def delivery(self, request: Request, body: bytes) -> Delivery:
        slug = request.path_params["tenant_slug"]
        try:
            connection = await self.connections.resolve(self.provider, slug, what="tenant slug")
        except WebhookRejected as exc:
            if exc.status == 404 and await run_in_threadpool(_tenant_exists, slug):
                log.error("webhook.secret_not_configured", provider=self.provider, tenant_slug=slug,
                          secret=FORM_KEY_HASH)
                raise WebhookRejected(401, "secret_not_configured",
                                      "this tenant has no forms API key; nothing is accepted") from None
            raise
        stored_hash = connection.secret(FORM_KEY_HASH, self.provider)
        given = request.headers.get("x-api-key", "")
        if not same_digest(stored_hash, hashlib.sha256(given.encode()).hexdigest()):
            wrong = InvalidSignature("missing or wrong X-Api-Key" if given else "missing X-Api-Key")
            raise rejected_signature(self.provider, wrong, connection_id=connection.connection_id)
        payload = parse_form(body) if media_type(request) == FORM else parse_object(body)
        key = request.headers.get("idempotency-key")
        dedupe = "idem:" + required_text(key, "Idempotency-Key header", status=400) if key is not None else body_hash(body)
        return Delivery(connection.tenant_id, self.provider, EVENT_TYPE, dedupe, payload)
