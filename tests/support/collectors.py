"""Loopback receivers for what the processes export: an OTLP/HTTP trace collector and a Sentry ingest.

Each is a small Starlette app served by `fake_ghl.serve` (uvicorn in a thread). The collector
decodes each export with opentelemetry-proto, as a real collector would, and keeps the spans;
the Sentry ingest takes envelopes at /api/<project>/envelope/ (gzip, as the SDK sends them)
and keeps each raw envelope too, so that tests can look for secrets byte by byte.
"""

from __future__ import annotations

import gzip
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def _body(request: Request) -> bytes:
    body = await request.body()
    return gzip.decompress(body) if request.headers.get("content-encoding") == "gzip" else body


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


@dataclass
class Collector:
    """OTLP/HTTP (protobuf) on POST /v1/traces."""

    spans: list[Span] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def traces(self, request: Request) -> Response:
        body = await _body(request)
        export = ExportTraceServiceRequest.FromString(body)
        received = []
        for resource_spans in export.resource_spans:
            resource = {item.key: _value(item.value) for item in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received.append(Span(
                        service=resource.get("service.name", ""), name=span.name, kind=span.kind,
                        trace_id=span.trace_id.hex(), span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        attributes={item.key: _value(item.value) for item in span.attributes}))
        with self._lock:
            self.raw.append(body)
            self.spans.extend(received)
        return Response(ExportTraceServiceResponse().SerializeToString(), media_type="application/x-protobuf")

    def named(self, name: str) -> list[Span]:
        with self._lock:
            return [span for span in self.spans if span.name == name]

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/traces", self.traces, methods=["POST"])])


@dataclass
class SentryIngest:
    """Sentry's envelope endpoint; `events` are the error events received (project id and payload)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def envelope(self, request: Request) -> Response:
        body = await _body(request)
        lines = body.split(b"\n")
        events = []
        position = 1  # line 0 is the envelope's header
        while position + 1 < len(lines):
            header = json.loads(lines[position])
            if header.get("type") == "event":
                events.append({"project": request.path_params["project"], **json.loads(lines[position + 1])})
            position += 2
        with self._lock:
            self.raw.append(body)
            self.events.extend(events)
        return JSONResponse({})

    def errors(self, exception_type: str) -> list[dict[str, Any]]:
        with self._lock:
            return [event for event in self.events
                    if any(value.get("type") == exception_type for value in event.get("exception", {}).get("values", []))]

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/api/{project}/envelope/", self.envelope, methods=["POST"])])
