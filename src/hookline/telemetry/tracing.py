"""OpenTelemetry traces over OTLP/HTTP, on only when an endpoint is configured.

Off, nothing here imports OpenTelemetry and no request or task does any tracing work. On,
each process has one TracerProvider whose BatchSpanProcessor exports from a thread of its own
(it restarts itself in a forked Celery child). The W3C `traceparent` links the spans across
processes: the ingress's request span (ingress/tracing.py) → the message's headers → the
worker's task span (opentelemetry-instrumentation-celery, which also carries it on through
every task a task publishes).
"""

from __future__ import annotations

import os
from typing import Any

from hookline.config import Settings

_provider: Any = None  # this process's TracerProvider, once started


def traces_endpoint(settings: Settings) -> str | None:
    """Where spans go, or None when tracing is off (no endpoint, or OTEL_SDK_DISABLED=true)."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    base = settings.otel_exporter_otlp_endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    # The OTLP spec: a base endpoint gets the signal's path appended.
    return f"{base.rstrip('/')}/v1/traces" if base else None


def start(settings: Settings, service: str) -> bool:
    """Set up tracing for this process as `service` (OTEL_SERVICE_NAME wins); False when it is off."""
    global _provider
    endpoint = traces_endpoint(settings)
    if endpoint is None:
        return False
    if _provider is not None:
        return True
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # The sampler comes from OTEL_TRACES_SAMPLER (default: parent-based, always on); headers and
    # timeout from OTEL_EXPORTER_OTLP_HEADERS / _TIMEOUT, as every OpenTelemetry SDK reads them.
    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or service})
    _provider = TracerProvider(resource=resource)
    _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(_provider)
    return True


def start_celery(settings: Settings, service: str) -> bool:
    """Tracing for a worker or beat: a span per task published and per task run, tagged with its tenant."""
    if not start(settings, service):
        return False
    from celery import signals
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    instrumentor = CeleryInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=_provider)
        # Connected after the instrumentation's own task_prerun receiver: the task's span is current here.
        signals.task_prerun.connect(_tag_tenant, weak=False)
        signals.worker_process_shutdown.connect(flush, weak=False)
    return True


def _tag_tenant(kwargs: dict[str, Any] | None = None, **_: Any) -> None:
    from opentelemetry import trace

    tenant_id = (kwargs or {}).get("tenant_id")
    if isinstance(tenant_id, int):
        trace.get_current_span().set_attribute("hookline.tenant_id", tenant_id)


def flush(**_: Any) -> None:
    """Export what is buffered now (a pool child may exit before the processor's next batch)."""
    if _provider is not None:
        _provider.force_flush(timeout_millis=5000)
