"""Tasks on the email queue: send one outbox message, at most once per idempotency key."""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import structlog
from sqlalchemy.orm import Session

from hookline.config import Settings, get_settings, redis_client_url
from hookline.db import tenant_session
from hookline.integrations.email import OutgoingEmail, Transport, make_transport
from hookline.integrations.errors import RejectedError, TransientError
from hookline.models import EmailMessage, EmailStatus
from hookline.ratelimit import FixedWindow, Limiter
from hookline.redis_clients import sync_client
from hookline.services import messaging
from hookline.services.email_templates import TemplateProblem, render
from hookline.transport.publish import publish_after_commit
from hookline.workers import retry
from hookline.workers.app import app
from hookline.workers.limits import LONGEST_BROKER_DELAY
from hookline.workers.tenancy import TenantTask

log = structlog.get_logger(__name__)

SEND = "hookline.tasks.email.send"
# Backoff after a transient failure (workers/retry.backoff): 30 s, 60 s, 120 s … up to 30 min, each
# jittered to 50–100 %.
BACKOFF_BASE, BACKOFF_CAP = 30.0, 1800.0


_transport: list[tuple[Settings, Transport]] = []


def transport() -> Transport:
    """This process's transport (one HTTP connection pool), rebuilt when the settings object changes."""
    settings = get_settings()
    if not _transport or _transport[0][0] is not settings:
        _transport[:] = [(settings, make_transport(settings))]
    return _transport[0][1]


@lru_cache(maxsize=1)
def limiter() -> Limiter:
    url = redis_client_url(get_settings())
    return Limiter(sync_client(url) if url else None)


@app.task(base=TenantTask, bind=True, name=SEND, max_retries=None, soft_time_limit=60, time_limit=90)
def send(self: TenantTask, *, tenant_id: int, message_id: int) -> str | None:
    """Claim the message (queued → sending), render, send, record the outcome; returns the new status.

    Rate limited: stays queued, retried when the window ends. Transient failure: queued again,
    retried with jittered backoff until HOOKLINE_EMAIL_MAX_ATTEMPTS. Permanent: failed.
    """
    settings = get_settings()
    with tenant_session(tenant_id) as session:
        message = messaging.get(session, tenant_id, message_id)
        if message is None or message.status != EmailStatus.QUEUED.value:  # done, or a twin run has it
            log.info("email.skipped", message_id=message_id, status=message and message.status)
            return None
    wait = (limiter().wait(FixedWindow("email:tenant", settings.email_tenant_rate_limit,
                                       settings.email_rate_window_seconds), tenant_id)
            or limiter().wait(FixedWindow("email:provider", settings.email_provider_rate_limit,
                                          settings.email_rate_window_seconds), transport().name))
    if wait:
        # Jitter spreads the waiting messages over the next window.
        countdown = min(LONGEST_BROKER_DELAY, wait + random.uniform(0, 5))
        with tenant_session(tenant_id) as session:
            messaging.defer(session, tenant_id, message_id, seconds=countdown, from_status=EmailStatus.QUEUED)
        log.info("email.rate_limited", message_id=message_id, countdown=round(countdown, 1))
        raise self.retry(countdown=countdown)

    with tenant_session(tenant_id) as session:
        message = messaging.claim(session, tenant_id, message_id)
        if message is None:
            log.info("email.skipped", message_id=message_id, status="claimed elsewhere")
            return None
        sender_name, reply_to = messaging.sender(session, tenant_id)
    return _deliver(self, transport(), message, sender_name, reply_to, settings.email_from_address,
                    settings.email_max_attempts)


def _deliver(task: TenantTask, transport: Transport, message: EmailMessage, sender_name: str, reply_to: str | None,
             from_address: str, max_attempts: int) -> str:
    tenant_id, message_id = message.tenant_id, message.id
    try:
        rendered = render(message.template, message.context, sender_name=sender_name, recipient=message.recipient)
        email = OutgoingEmail(
            from_name=sender_name, from_address=from_address, to=message.recipient, reply_to=reply_to,
            subject=rendered.subject, text=rendered.text, html=rendered.html,
            message_id=f"<hookline.{tenant_id}.{message_id}@{from_address.rpartition('@')[2]}>",
        )
        provider_id = transport.send(email)
    except (TemplateProblem, RejectedError) as exc:
        return _record(tenant_id, message_id, "email.failed", messaging.mark_failed, error=str(exc))
    except TransientError as exc:
        if message.attempts >= max_attempts:
            return _record(tenant_id, message_id, "email.failed", messaging.mark_failed,
                           error=f"gave up after {message.attempts} attempts: {exc}")
        countdown = retry.backoff(message.attempts - 1, retry_after=exc.retry_after, base=BACKOFF_BASE, cap=BACKOFF_CAP)
        _record(tenant_id, message_id, "email.retrying", messaging.defer, seconds=countdown, error=str(exc))
        raise task.retry(countdown=countdown) from None
    except Exception as exc:  # a bug, or the soft time limit mid-send: it may have gone out
        _record(tenant_id, message_id, "email.failed", messaging.mark_failed,
                error=f"{messaging.UNKNOWN_OUTCOME}: {exc!r}")
        raise
    # Logged before the database write: if that write fails, this line is how to tell it went out.
    log.info("email.provider_accepted", message_id=message_id, provider=transport.name, provider_message_id=provider_id)
    return _record(tenant_id, message_id, "email.sent", messaging.mark_sent, provider_message_id=provider_id)


def _record(tenant_id: int, message_id: int, what: str, move: Callable[..., EmailMessage | None], **values: Any) -> str:
    with tenant_session(tenant_id) as session:
        message = move(session, tenant_id, message_id, **values)
    log.info(what, message_id=message_id, status=message and message.status,
             attempts=message and message.attempts, error=values.get("error"))
    return message.status if message else "unchanged"


def send_after_commit(session: Session, message: EmailMessage) -> None:
    """Publish the message's send once `session`'s transaction commits (nothing if it rolls back).

    Publishing inside the transaction could start a worker before the row is visible; publishing
    after it can be lost to a crash or a broker outage, which the sweeper repairs.
    """
    if message.status != EmailStatus.QUEUED.value:  # enqueue returned an earlier message, already handled
        return
    publish_after_commit(session, SEND, tenant_id=message.tenant_id, message_id=message.id)
