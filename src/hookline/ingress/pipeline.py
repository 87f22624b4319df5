"""One pipeline for every webhook route: read → the source's own checks → rate limit → store → answer.

A source (GoHighLevel, Reonic, Zoom, forms, payments) knows only its sender: how it signs,
where the tenant and the event id are. Everything else — limits, the inbox, the answers when
PostgreSQL is down, metrics and the one log line per delivery — lives here, once.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

import structlog
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from hookline.ingress.accept import JSON, Delivery, read_body
from hookline.ingress.connections import ConnectionDirectory
from hookline.ingress.errors import WebhookRejected, error_response
from hookline.ingress.inbox_writer import DATABASE_DOWN, InboxWriter
from hookline.ingress.metrics import REQUESTS
from hookline.ingress.ratelimit import TenantRateLimit
from hookline.integrations.errors import InvalidSignature
from hookline.transport.publisher import Job, Publisher

log = structlog.get_logger(__name__)

# A caller's X-Request-Id is kept if it looks like an id (it goes into logs and message headers).
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id_of(request: Request) -> str:
    """The caller's X-Request-Id if it is a plain id, else a new one."""
    given = request.headers.get("x-request-id")
    return given if given and REQUEST_ID.fullmatch(given) else os.urandom(16).hex()  # uuid4().hex's form, at a third


@dataclass(frozen=True)
class RouteDoc:
    """What /openapi.json says about a route."""

    summary: str
    headers: dict[str, str] = field(default_factory=dict)  # header → description
    path_params: dict[str, str] = field(default_factory=dict)


class WebhookSource:
    """One sender's rules. Subclasses set the class attributes and implement `delivery`."""

    provider: ClassVar[str]
    path: ClassVar[str]
    doc: ClassVar[RouteDoc]
    media_types: ClassVar[tuple[str, ...]] = (JSON,)
    # What makes this sender retry when the inbox cannot be written (INTEGRATIONS.md).
    unavailable_status: ClassVar[int] = 503
    retry_after_seconds: ClassVar[int] = 30

    def __init__(self, *, connections: ConnectionDirectory, window: int) -> None:
        self.connections, self.window = connections, window

    async def delivery(self, request: Request, body: bytes) -> Delivery | Response:
        """Verify and identify the delivery, or answer directly (a URL-validation challenge)."""
        raise NotImplementedError

    async def on_retry_requested(self, request: Request) -> None:
        """Called when the sender is told to retry (inbox down, or rate limited); nothing was stored."""


def rejected_signature(provider: str, exc: InvalidSignature, **context: object) -> WebhookRejected:
    log.warning("webhook.invalid_signature", provider=provider, reason=exc.reason, **context)
    return WebhookRejected(401, "invalid_signature", exc.reason)


def accepted(event_id: int, status: str, duplicate: bool) -> Response:
    """202 (200 for a duplicate) with `{"event_id", "status", "duplicate"}`, as JSONResponse renders it.

    Written out rather than through JSONResponse: its json.dumps with custom separators makes a
    new encoder per answer, ~2% of a webhook's CPU. The fields are an int, a status word, a bool.
    """
    body = f'{{"event_id":{int(event_id)},"status":{json.dumps(status)},"duplicate":{"true" if duplicate else "false"}}}'
    return Response(body.encode(), status_code=200 if duplicate else 202, media_type="application/json")


class WebhookEndpoint:
    def __init__(self, source: WebhookSource, *, max_bytes: int, rate_limit: TenantRateLimit, inbox: InboxWriter,
                 publisher: Publisher) -> None:
        self.source, self.max_bytes, self.rate_limit = source, max_bytes, rate_limit
        self.inbox, self.publisher = inbox, publisher
        self._answered: dict[int, Any] = {}  # status → this route's request counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """As an ASGI app of its own: what Starlette's Route does, without its routing and middleware."""
        response = await self.handle(Request(scope, receive, send))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        request_id = request_id_of(request)
        # Every line this request logs carries its id; the published task carries it on (a header).
        # Bound, never unbound: each request runs in its own task (uvicorn), with its own context.
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            response = await self._handle(request, request_id)
        except WebhookRejected as exc:
            if exc.status == 429:
                await self.source.on_retry_requested(request)
            response = error_response(exc.status, exc.code, exc.message, headers=exc.headers)
        except DATABASE_DOWN as exc:
            response = await self._unavailable(request, exc)
        except ClientDisconnect:  # the sender hung up mid-body: nobody reads the answer; not our failure
            response = error_response(400, "client_disconnected", "the body ended early")
        except Exception:  # a bug, or a failure nothing above expects: one JSON 500, counted and logged
            log.exception("ingress.unexpected_error", provider=self.source.provider)
            response = error_response(500, "internal_error", "unexpected error; retry later (it is logged under "
                                      "this request's x-request-id)")
        response.headers["x-request-id"] = request_id
        counter = self._answered.get(response.status_code)
        if counter is None:
            counter = self._answered[response.status_code] = REQUESTS.labels(self.source.path,
                                                                             str(response.status_code))
        counter.inc()
        return response

    async def _handle(self, request: Request, request_id: str) -> Response:
        body = await read_body(request, self.max_bytes, self.source.media_types)
        delivery = await self.source.delivery(request, body)
        if isinstance(delivery, Response):
            return delivery
        await self.rate_limit.check(delivery.tenant_id)
        stored, task = await self.inbox.store(delivery)
        if task is not None:  # committed: publishing happens after the answer (transport/publisher.py)
            self.publisher.submit(Job(task, delivery.tenant_id, stored.event_id, delivery.provider, request_id))
        duplicate = not stored.created
        log.info("webhook.accepted", provider=delivery.provider, tenant_id=delivery.tenant_id,
                 event_type=delivery.event_type, event_id=stored.event_id, status=stored.status, duplicate=duplicate)
        return accepted(stored.event_id, stored.status, duplicate)

    async def _unavailable(self, request: Request, exc: Exception) -> Response:
        # Nothing was stored; answer what makes this sender try again later.
        log.error("ingress.database_unavailable", provider=self.source.provider,
                  error=repr(getattr(exc, "orig", None) or exc))
        await self.source.on_retry_requested(request)
        return error_response(self.source.unavailable_status, "temporarily_unavailable",
                              "the inbox cannot be written; retry later",
                              headers={"Retry-After": str(self.source.retry_after_seconds)})
