"""Replaying work: an inbox event through its handler again, a dead letter's task again, or discarding one.

Shared by `hookline events replay`, `hookline dead-letters` and the console. The database change
commits first, then the task is published: when the broker is unreachable the committed pending
row waits for the relay (an event), or the dead letter is set back to dead (a dead letter).
"""

from __future__ import annotations

from hookline.db import tenant_session
from hookline.models import DeadLetter, DeadLetterStatus, WebhookEvent
from hookline.services import dead_letters, inbox
from hookline.transport.published import mark_published
from hookline.workers.tenancy import REDACTED


class ReplayRefused(Exception):
    """This row cannot be replayed (or discarded) as asked; the message says why."""


class Unpublished(Exception):
    """The broker did not take the message; the database change stands (see the module docstring)."""


def reset_event(tenant_id: int, event: WebhookEvent, *, only_status: str | None = None) -> str | None:
    """Set the event pending again and return its handler's task; None when it has no handler, or
    (`only_status`) when it is no longer in that status: someone replayed it meanwhile."""
    from hookline.workers.handlers import handler_for

    handler = handler_for(event.provider, event.event_type)
    if handler is None:
        return None
    with tenant_session(tenant_id) as session:
        if not inbox.reset_for_replay(session, tenant_id, event.id, only_status=only_status):
            return None
    return handler.task


def publish_event(task: str, tenant_id: int, event_id: int, *, bulk: bool = False) -> None:
    """Publish a reset event to `task` (its bulk lane when `bulk`) and stamp it; Unpublished when the broker fails."""
    try:
        from hookline.transport.publish import publish  # the Celery app reads HOOKLINE_BROKER_URL on import

        publish(task, tenant_id=tenant_id, bulk=bulk, event_id=event_id)
    except Exception as exc:  # broker down or unset: the committed pending row is the source of truth
        raise Unpublished(str(exc)) from exc
    with tenant_session(tenant_id) as session:
        mark_published(session, tenant_id, event_id)


def replay_dead_letter(tenant_id: int, letter: DeadLetter) -> None:
    """Publish the dead letter's task again with its arguments and mark it replayed.

    An inbox event the task worked on is set back to pending first, so the task takes it anew.
    ReplayRefused: not dead, or an argument was masked as a secret. Unpublished: the broker failed
    (the row is dead again; its event, if any, pending for the relay).
    """
    if letter.status != DeadLetterStatus.DEAD.value:
        raise ReplayRefused(f"dead letter {letter.id} is {letter.status}; only dead ones can be replayed")
    masked = sorted(key for key, value in letter.kwargs.items() if value == REDACTED)
    if masked:
        raise ReplayRefused(f"dead letter {letter.id} cannot be replayed: argument(s) {', '.join(masked)} "
                            "were masked as secrets; publish the task again by hand")
    kwargs = {key: value for key, value in letter.kwargs.items() if key != "tenant_id"}
    with tenant_session(tenant_id) as session:
        for event_id in dead_letters.event_ids(kwargs):  # a batch's too
            inbox.reset_for_replay(session, tenant_id, event_id)
        dead_letters.resolve(session, tenant_id, letter.id, DeadLetterStatus.REPLAYED)
    try:
        from hookline.transport.publish import publish

        publish(letter.task, tenant_id=tenant_id, **kwargs)
    except Exception as exc:
        with tenant_session(tenant_id) as session:
            dead_letters.resolve(session, tenant_id, letter.id, DeadLetterStatus.DEAD)
        raise Unpublished(f"could not publish {letter.task} ({exc}); dead letter {letter.id} stays dead"
                          + ("; its inbox event is pending again, and the relay will publish it"
                             if dead_letters.event_ids(kwargs) else "")) from exc


def discard_dead_letter(tenant_id: int, letter: DeadLetter) -> None:
    """Mark a dead letter discarded: looked at, needs no further work (the row is kept)."""
    if letter.status != DeadLetterStatus.DEAD.value:
        raise ReplayRefused(f"dead letter {letter.id} is {letter.status} already")
    with tenant_session(tenant_id) as session:
        dead_letters.resolve(session, tenant_id, letter.id, DeadLetterStatus.DISCARDED)
