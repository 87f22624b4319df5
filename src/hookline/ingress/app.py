"""The ASGI app: /healthz and the webhook routes, with one JSON shape for every error."""

from __future__ import annotations

import structlog
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hookline.config import Settings, get_settings
from hookline.db import global_session
from hookline.ingress.errors import WebhookRejected, error_response, rejected_response
from hookline.ingress.ghl import GhlKeys, GhlWebhook
from hookline.workers.logs import configure_logging

log = structlog.get_logger(__name__)


def _ping_database() -> None:
    with global_session() as session:
        session.execute(text("SELECT 1"))


async def healthz(request: Request) -> JSONResponse:
    try:
        await run_in_threadpool(_ping_database)
    except DBAPIError as exc:
        log.warning("ingress.healthz.database_down", error=repr(exc.orig))
        return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # Nothing was stored. GoHighLevel retries only on 429 (about 6 times, 10 minutes apart).
    log.error("ingress.database_unavailable", path=request.url.path, error=repr(getattr(exc, "orig", exc)))
    return error_response(429, "temporarily_unavailable", "the inbox cannot be written; retry later",
                          headers={"Retry-After": "600"})


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    configure_logging()
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/webhooks/ghl", GhlWebhook(GhlKeys.from_settings(settings), settings.max_webhook_bytes).handle,
              methods=["POST"]),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={WebhookRejected: rejected_response, DBAPIError: database_unavailable},
    )
