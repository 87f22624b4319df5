"""The ingress's traces: a server span per request, and the `traceparent` its task is published with.

Only installed when tracing is on (telemetry/tracing.py); off, the app is served as it is.
Hand-written rather than opentelemetry-instrumentation-asgi's middleware: that one names spans
and sets `url.path` from the raw path, and a payments webhook's path holds the connection's
token. Here a span is named by its route template (`POST /webhooks/payments/{connection_token}`)
and carries no URL; it also skips the per-message `http send` spans (less work per request).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, StatusCode
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hookline.transport.publisher import Job, Publisher

UNTRACED = frozenset({"/healthz", "/readyz", "/metrics"})  # probes and scrapes: noise in a trace store


class TracingMiddleware:
    """A SERVER span around each HTTP request, continuing the caller's `traceparent` if it sent one."""

    def __init__(self, app: ASGIApp, templates: Iterable[str]) -> None:
        self.app = app
        self.exact = {template for template in templates if "{" not in template}
        self.patterns = [(compile_path(template)[0], template) for template in templates if "{" in template]
        self.fields = {name.encode() for name in propagate.get_global_textmap().fields}
        self.tracer = trace.get_tracer("hookline.ingress")

    def route(self, path: str) -> str | None:
        if path in self.exact:
            return path
        return next((template for pattern, template in self.patterns if pattern.match(path)), None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNTRACED:
            await self.app(scope, receive, send)
            return
        method, route = scope["method"], self.route(scope["path"])
        carrier = {name.decode(): value.decode("latin-1") for name, value in scope["headers"] if name in self.fields}
        attributes: dict[str, Any] = {"http.request.method": method, "url.scheme": scope.get("scheme", "http")}
        if route is not None:
            attributes["http.route"] = route
        name = f"{method} {route}" if route is not None else method
        with self.tracer.start_as_current_span(name, context=propagate.extract(carrier), kind=SpanKind.SERVER,
                                               attributes=attributes) as span:

            async def traced_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = message["status"]
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(StatusCode.ERROR)
                    for header, value in message.get("headers", ()):
                        if header == b"x-request-id":  # the id in the logs: from a trace to its log lines
                            span.set_attribute("hookline.request_id", value.decode("latin-1"))
                await send(message)

            await self.app(scope, receive, traced_send)


class TracedPublisher(Publisher):
    """Takes each job with the current trace context (the request's span) as message headers."""

    def submit(self, job: Job) -> None:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        super().submit(replace(job, trace=tuple(carrier.items())) if carrier else job)
