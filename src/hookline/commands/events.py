"""`hookline events`: list, show and replay inbox events, read one tenant at a time (row-level security)."""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timedelta, timezone

import click

from hookline.commands.listing import TENANT_HELP, echo_columns, echo_newest, find, shorten, tenants, utc
from hookline.db import tenant_session
from hookline.models import EventStatus
from hookline.redaction import redact
from hookline.services import inbox, replay

DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
RELAY = "the relay (beat's maintenance.relay_unpublished) will publish"
COLUMNS = [("id", ">6"), ("tenant", "<20"), ("provider", "<8"), ("event_type", "<22"), ("status", "<9"),
           ("att", ">3"), ("received_at", "<20"), ("last_error", "")]


@click.group()
def events() -> None:
    """Webhook events in the inbox: look at them, replay them."""


@events.command("list")
@click.option("--tenant", "slug", help=TENANT_HELP)
@click.option("--status", type=click.Choice([status.value for status in EventStatus]))
@click.option("--provider", help="Only this provider's events (e.g. ghl).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
def events_list(slug: str | None, status: str | None, provider: str | None, limit: int) -> None:
    """The newest events first."""
    echo_newest(slug, lambda session, tenant_id: inbox.recent(session, tenant_id, status=status, provider=provider,
                                                              limit=limit),
                "received_at", limit=limit, columns=COLUMNS, noun="events",
                cells=lambda tenant, event: (event.id, tenant.slug, event.provider, event.event_type, event.status,
                                             event.attempts, utc(event.received_at), shorten(event.last_error)))


@events.command("show")
@click.argument("event_id", metavar="ID", type=click.IntRange(min=1))
@click.option("--tenant", "slug", help=TENANT_HELP)
def events_show(event_id: int, slug: str | None) -> None:
    """Every column of event ID, and its payload as JSON (secrets and personal fields redacted)."""
    tenant, event = find(slug, event_id, inbox.get, "event")
    echo_columns(tenant, event, skip=("payload",))
    click.echo("payload (secrets and personal fields redacted):")
    click.echo(json.dumps(redact(event.payload), indent=2, ensure_ascii=False))


def _since(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """An ISO date-time (UTC unless it names a zone) or a duration back from now: 30m, 2h, 1d."""
    if value is None:
        return None
    now = datetime.now(timezone.utc)
    duration = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", value)
    try:
        if duration:
            return now - timedelta(**{DURATION_UNITS[duration[2]]: int(duration[1])})
        moment = datetime.fromisoformat(value.strip())
    except (ValueError, OverflowError):
        raise click.BadParameter(f"{value!r} is neither an ISO date-time nor a duration like 30m, 2h, 1d") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@events.command("replay")
@click.argument("event_id", metavar="[ID]", required=False, type=click.IntRange(min=1))
@click.option("--failed", is_flag=True, help="Replay every failed event instead of one ID.")
@click.option("--since", callback=_since, metavar="WHEN",
              help="With --failed: only events received since WHEN, an ISO date-time (UTC unless it says) "
                   "or a duration ago: 30m, 2h, 1d.")
@click.option("--tenant", "slug", help=TENANT_HELP)
def events_replay(event_id: int | None, failed: bool, since: datetime | None, slug: str | None) -> None:
    """Run event ID, or every failed event, through its handler again.

    Each event is set back to pending (attempts kept), committed, then published to its task's
    queue. When the broker is unreachable the committed row waits for the relay.
    """
    if event_id is not None and failed:
        raise click.UsageError("give an event ID or --failed, not both")
    if event_id is None and not failed:
        raise click.UsageError("give an event ID, or --failed to replay every failed event")
    if since is not None and not failed:
        raise click.UsageError("--since goes with --failed")
    if event_id is not None:
        targets = [find(slug, event_id, inbox.get, "event")]
    else:
        targets = []
        for tenant in tenants(slug):
            with tenant_session(tenant.id) as session:
                targets += [(tenant, event) for event in inbox.failed_since(session, tenant.id, since)]

    replayed, skipped, unpublished = 0, 0, 0
    # One line per event for one ID; a bulk replay shows a progress bar (stderr, on a terminal only)
    # and names only the events that need a look, so thousands of replays stay readable.
    bulk = event_id is None
    with click.progressbar(targets, label="replaying", file=sys.stderr, show_pos=True) as bar:
        for tenant, event in bar:
            task = replay.reset_event(tenant.id, event)
            if task is None:
                _note(f"event {event.id} ({tenant.slug}): no handler for {event.provider} {event.event_type}, skipped",
                      bulk)
                skipped += 1
                continue
            replayed += 1
            # After one failed publish, leave the rest to the relay too rather than wait on the broker each time.
            if unpublished or not _publish(task, tenant.id, event.id):
                unpublished += 1
                _note(f"event {event.id} ({tenant.slug}): pending, not published", bulk)
            elif not bulk:
                click.echo(f"event {event.id} ({tenant.slug}): published to {task}")

    notes = []
    if skipped:
        notes.append(f"{skipped} skipped: no handler")
    if unpublished:
        notes.append(f"{unpublished} left to the relay")
    click.echo(f"replayed {replayed} event{'' if replayed == 1 else 's'}" + (f" ({', '.join(notes)})" if notes else ""))
    if event_id is not None and not replayed:
        click.get_current_context().exit(1)


def _note(line: str, bulk: bool) -> None:
    """A line about one event; during a bulk replay it starts on a fresh line, after the progress bar."""
    click.echo(("\n" if bulk and sys.stderr.isatty() else "") + line)


def _publish(task: str, tenant_id: int, event_id: int) -> bool:
    """Publish the committed pending row and stamp it; False (with a warning) when the broker is unreachable."""
    try:
        replay.publish_event(task, tenant_id, event_id)
    except replay.Unpublished as exc:
        click.echo(f"warning: could not publish ({exc}); replayed events stay pending and {RELAY} them "
                   "once the broker is back", err=True)
        return False
    return True

