"""The ASGI app: the webhook routes, /healthz, /readyz, /metrics and /openapi.json."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import structlog
from redis import asyncio as aioredis
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from hookline.config import Settings, broker_redis_url, get_settings, redis_client_url
from hookline.db import global_session
from hookline.ingress.connections import ConnectionDirectory
from hookline.ingress.errors import error_response
from hookline.ingress.forms import FormSource
from hookline.ingress.ghl import GhlKeys, GhlSource
from hookline.ingress.ghl_app import AppEvents
from hookline.ingress.inbox_writer import InboxWriter
from hookline.ingress.metrics import metrics
from hookline.ingress.oauth_callback import OAuthCallback
from hookline.ingress.openapi import document
from hookline.ingress.payments import PaymentSource
from hookline.ingress.pipeline import WebhookEndpoint, WebhookSource
from hookline.ingress.ratelimit import TenantRateLimit
from hookline.ingress.reonic import ReonicSource
from hookline.ingress.zoom import ZoomSource
from hookline.redis_clients import async_client
from hookline.secrets_box import require_keys
from hookline.services.ghl_webhooks import KEY_SETTING, signature_problem
from hookline.telemetry import reporting, tracing
from hookline.transport.lanes import Lanes
from hookline.transport.messages import TaskMessages
from hookline.transport.publisher import CelerySender, Publisher, RedisSender, Sender
from hookline.workers.logs import configure_logging

log = structlog.get_logger(__name__)
READY_TIMEOUT_SECONDS = 2


def _ping_database() -> None:
    with global_session() as session:
        session.execute(text("SELECT 1"))


def _ping_broker() -> None:
    from hookline.workers.app import app as celery_app

    with celery_app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=0, timeout=READY_TIMEOUT_SECONDS)


async def healthz(request: Request) -> JSONResponse:
    """The process is up and serving; says nothing about its dependencies (that is /readyz)."""
    return JSONResponse({"status": "ok"})


def _ghl_signature_problem(settings: Settings) -> str | None:
    with global_session() as session:
        return signature_problem(session, settings)


async def readyz(request: Request, settings: Settings) -> JSONResponse:
    """Ready when PostgreSQL and the broker both answer; each is reported by name.

    A setting that makes one provider's deliveries fail (no Ed25519 key while a tenant is connected
    to GoHighLevel) is reported by name too, as "degraded", but stays 200: taking the process out of
    a load balancer would refuse every other provider as well and mend nothing (docs/operations.md).
    """
    checks: dict[str, str] = {}
    for name, ping in (("database", _ping_database), ("broker", _ping_broker)):
        try:
            await run_in_threadpool(ping)
        except Exception as exc:  # noqa: BLE001 - any failure to reach it means "not ready"; the reason is logged
            log.warning("ingress.readyz.down", dependency=name, error=repr(exc))
            checks[name] = "down"
        else:
            checks[name] = "ok"
    ready = all(state == "ok" for state in checks.values())
    problem = await run_in_threadpool(_ghl_signature_problem, settings) if checks["database"] == "ok" else None
    if problem is not None:
        checks["ghl_webhooks"] = problem
    status = "unavailable" if not ready else "degraded" if problem else "ok"
    return JSONResponse({"status": status, **checks}, status_code=200 if ready else 503)


def sender(settings: Settings, inbox: InboxWriter) -> tuple[Sender, aioredis.Redis | None]:
    """How this process publishes tasks: on a Redis broker, its own asyncio client (returned too, to
    close); on any other, Celery's way, stamping the published rows through `inbox`."""
    from hookline.workers.app import app as celery_app

    url = broker_redis_url(settings.broker)
    if url is None:
        return CelerySender(celery_app, inbox.mark_published), None
    client = async_client(url, master=settings.redis_sentinel_master, socket_timeout=2, socket_connect_timeout=2)
    return RedisSender(client, TaskMessages(celery_app)), client


def sources(settings: Settings, redis: aioredis.Redis | None) -> list[WebhookSource]:
    shared: dict[str, Any] = {"connections": ConnectionDirectory(settings.connection_cache_seconds),
              "window": settings.replay_window_seconds}
    return [
        GhlSource(GhlKeys.from_settings(settings), retry_grace=settings.ghl_retry_grace_seconds, redis=redis,
                  app_events=AppEvents(settings.ghl_client_id), **shared),
        ReonicSource(**shared),
        ZoomSource(**shared),
        FormSource(**shared),
        PaymentSource(**shared),
    ]


async def not_found(request: Request, exc: Any) -> JSONResponse:
    return error_response(404, "not_found", f"no route {request.method} {request.url.path}")


async def method_not_allowed(request: Request, exc: Any) -> JSONResponse:
    return error_response(405, "method_not_allowed", f"{request.method} is not allowed on {request.url.path}")


class Ingress(Starlette):
    """Starlette, except that a POST to a webhook route's exact path goes straight to its endpoint.

    Starlette's two middleware layers, its router and its Route wrapper, with the JSONResponse
    they answered through, cost ~15% of a webhook's CPU (bench/ingress_cpu.py: 444-506 µs before,
    388-416 after); the endpoint does all they would (its own errors, the answer). Anything else
    (other methods, the routes with path parameters, a path under a root_path) takes Starlette's way.
    The endpoint answers every exception itself (an unexpected one: 500 JSON, counted in
    hookline_ingress_requests_total), so none reaches uvicorn's plain-text 500.
    """

    def __init__(self, *, webhooks: dict[str, WebhookEndpoint], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.webhooks = webhooks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = self.webhooks.get(scope["path"])
            if endpoint is not None:
                scope["app"] = self
                await endpoint(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None) -> ASGIApp:
    """The ingress; wrapped in a tracing middleware when tracing is on (ingress/tracing.py)."""
    settings = settings or get_settings()
    require_keys(settings)  # the ingress opens connections' signing secrets
    configure_logging()
    redis_url = redis_client_url(settings)
    redis = async_client(redis_url, master=settings.redis_sentinel_master, socket_timeout=1,
                         socket_connect_timeout=1) if redis_url else None
    rate_limit = TenantRateLimit(redis, settings.tenant_rate_limit, settings.tenant_rate_window_seconds)
    webhook_sources = sources(settings, redis)
    openapi = document(webhook_sources)

    async def openapi_json(request: Request) -> JSONResponse:
        return JSONResponse(openapi)

    async def ready(request: Request) -> JSONResponse:
        return await readyz(request, settings)

    inbox = InboxWriter(settings)
    task_sender, broker_client = sender(settings, inbox)
    lanes = Lanes.from_settings(settings, async_client=redis)  # the rate limit's client: one pool for both
    traced = tracing.start(settings, "hookline-ingress")
    reporting.start(settings)
    if traced:  # imports OpenTelemetry: only when tracing is on
        from hookline.ingress.tracing import TracedPublisher, TracingMiddleware
    publisher = (TracedPublisher if traced else Publisher)(
        task_sender, lanes=lanes, events_per_task=settings.batch_size, bulk_events_per_task=settings.bulk_batch_size,
        linger_seconds=settings.batch_wait_ms / 1000, bulk_linger_seconds=settings.bulk_batch_wait_ms / 1000)
    endpoint = partial(WebhookEndpoint, max_bytes=settings.max_webhook_bytes, rate_limit=rate_limit, inbox=inbox,
                       publisher=publisher)
    endpoints = {source.path: endpoint(source) for source in webhook_sources}
    routes = [Route(path, webhook.handle, methods=["POST"]) for path, webhook in endpoints.items()]
    routes += [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", ready, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route(OAuthCallback.path, OAuthCallback(redis).handle, methods=["GET"]),
    ]

    async def say_if_ghl_is_refused() -> None:
        try:
            problem = await run_in_threadpool(_ghl_signature_problem, settings)
        except Exception as exc:  # noqa: BLE001 - the database is not up yet: /readyz says so, and says this once it is
            log.warning("ingress.ghl_key_check_failed", error=repr(exc))
            return
        if problem is not None:
            log.error("ghl.webhook.key_not_configured", setting=KEY_SETTING, message=problem)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await say_if_ghl_is_refused()
        await inbox.open()
        publisher.start()
        # Everything made so far (modules, settings, keys, the apps) lives as long as the process:
        # out of the collector's way, a full collection stops scanning it (p99 94 instead of 170 ms).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await publisher.stop()
            await inbox.close()
            for client in (redis, broker_client):
                if client is not None:
                    await client.aclose()

    app = Ingress(webhooks={path: webhook for path, webhook in endpoints.items() if "{" not in path}, routes=routes,
                  exception_handlers={404: not_found, 405: method_not_allowed}, lifespan=lifespan)
    return TracingMiddleware(app, endpoints) if traced else app
