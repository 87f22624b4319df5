"""`hookline email`: the outbox, read one tenant at a time (row-level security); replay failed messages."""

from __future__ import annotations

import click

from hookline.commands.listing import TENANT_HELP, echo_newest, shorten, tenants, utc
from hookline.db import tenant_session
from hookline.models import EmailStatus
from hookline.services import messaging

COLUMNS = [("id", ">6"), ("tenant", "<20"), ("template", "<24"), ("recipient", "<28"), ("status", "<8"),
           ("att", ">3"), ("created_at", "<20"), ("last_error", "")]


@click.group()
def email() -> None:
    """Email outbox: look at messages, replay failed ones."""


@email.command("list")
@click.option("--tenant", "slug", help=TENANT_HELP)
@click.option("--status", type=click.Choice([status.value for status in EmailStatus]))
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
def email_list(slug: str | None, status: str | None, limit: int) -> None:
    """The newest messages first, with their attempts and last error."""
    echo_newest(slug, lambda session, tenant_id: messaging.recent(session, tenant_id, status=status, limit=limit),
                "created_at", limit=limit, columns=COLUMNS, noun="messages",
                cells=lambda tenant, m: (m.id, tenant.slug, m.template, m.recipient, m.status, m.attempts,
                                         utc(m.created_at), shorten(m.last_error)))


@email.command("replay")
@click.argument("message_id", metavar="[ID]", required=False, type=click.IntRange(min=1))
@click.option("--failed", is_flag=True, help="Replay every failed message instead of one ID.")
@click.option("--tenant", "slug", help=TENANT_HELP)
def email_replay(message_id: int | None, failed: bool, slug: str | None) -> None:
    """Send failed message ID (or every failed message) again: back to queued, committed, published.

    A message failed as "outcome unknown" may have reached its recipient: check the provider's
    log first. When the broker is unreachable the queued message is published by the sweeper.
    """
    if (message_id is None) == (not failed):
        raise click.UsageError("give a message ID or --failed (not both)")
    replayed = 0
    for tenant in tenants(slug):
        with tenant_session(tenant.id) as session:
            ids = ([message_id] if message_id is not None
                   else [m.id for m in messaging.recent(session, tenant.id, status="failed", limit=10_000)])
            reset = [i for i in ids if messaging.reset_for_replay(session, tenant.id, i) is not None]
        for i in reset:
            _publish(tenant.id, i)
            click.echo(f"message {i} ({tenant.slug}): queued again")
        replayed += len(reset)
    click.echo(f"replayed {replayed} message{'' if replayed == 1 else 's'}")
    if message_id is not None and not replayed:
        raise click.ClickException(f"no failed message {message_id}" + (f" for tenant {slug}" if slug else ""))


def _publish(tenant_id: int, message_id: int) -> None:
    try:
        from hookline.tasks.email import SEND
        from hookline.transport.publish import publish  # the Celery app reads HOOKLINE_BROKER_URL on import

        publish(SEND, tenant_id=tenant_id, message_id=message_id)
    except Exception as exc:  # noqa: BLE001 - broker down or unset: the committed queued row is the source of truth
        click.echo(f"warning: could not publish message {message_id} ({exc}); the sweeper will", err=True)
