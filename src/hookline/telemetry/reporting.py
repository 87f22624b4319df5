"""Error reports to Sentry (sentry-sdk), on only when HOOKLINE_SENTRY_DSN is set.

What is reported: an exception that fails a task for good (the Celery integration; retries,
rejections and quarantines are Celery's control flow and are not errors), and any ERROR line
logged through the standard library with its exception (uvicorn's "Exception in ASGI
application", Celery's and kombu's own). Each event is tagged with the tenant, task, event and
request id bound in structlog's context at the time. Nothing secret goes: stack frames' local
variables are not collected at all, request bodies and cookies neither, and `before_send`
(telemetry/scrub.py) masks secret-named values, the configured secrets and tokens in text.
"""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import structlog

from hookline.config import Settings
from hookline.telemetry.scrub import Scrubber, known_secrets

TAGS = ("tenant_id", "task_id", "event_id", "request_id")  # from structlog's context (workers/observe.py)


def start(settings: Settings, *, celery: bool = False) -> bool:
    """Set up Sentry for this process (with the Celery integration in a worker or beat); False when off."""
    if settings.sentry_dsn is None:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.atexit import AtexitIntegration
    from sentry_sdk.integrations.dedupe import DedupeIntegration
    from sentry_sdk.integrations.excepthook import ExcepthookIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    integrations: list[Any] = [
        # Events from ERROR records; breadcrumbs from INFO ones; no Sentry "logs" (our logs are JSON lines).
        LoggingIntegration(level=None, event_level=logging.ERROR),
        AtexitIntegration(), DedupeIntegration(), ExcepthookIntegration(),
    ]
    if celery:
        from sentry_sdk.integrations.celery import CeleryIntegration

        # No sentry-trace headers on published messages: traces are OpenTelemetry's, and the
        # ingress's hand-made messages (transport/messages.py) must equal what Celery publishes.
        integrations.append(CeleryIntegration(propagate_traces=False))
    # The defaults off: the auto-enabled ones patch httpx, redis, SQLAlchemy, Starlette … for
    # performance tracing we do not use, each a cost on the ingress's path.
    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(), environment=settings.sentry_environment,
        release=f"hookline@{_version()}", default_integrations=False, integrations=integrations,
        data_collection={"stack_frame_variables": False, "user_info": False, "http_bodies": [],
                         "cookies": {"mode": "off"}},
        before_send=_tagged(Scrubber(known_secrets(settings))), send_client_reports=False,
        auto_session_tracking=False,
    )
    return True


def _tagged(scrubber: Scrubber) -> Any:
    def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
        context = structlog.contextvars.get_contextvars()
        tags = event.setdefault("tags", {})
        for name in TAGS:
            if context.get(name) is not None:
                tags.setdefault(name, str(context[name]))
        return scrubber(event, hint)

    return before_send


def _version() -> str:
    try:
        return version("hookline")
    except PackageNotFoundError:
        return "unknown"
