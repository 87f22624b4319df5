"""`hookline events`: list, show and replay inbox events, read one tenant at a time (row-level security)."""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timedelta, timezone
from collections.abc import Callable
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from hookline.db import global_session, tenant_session
from hookline.models import EventStatus, Tenant, WebhookEvent
from hookline.services import inbox
from hookline.services.tenants import get_by_slug

TENANT_HELP = "The tenant's slug (see `hookline tenants list`); default: every tenant."
DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
RELAY = "the relay (beat's maintenance.relay_unpublished) will publish"


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
    rows = newest(slug, lambda session, tenant_id: inbox.recent(session, tenant_id, status=status, provider=provider,
                                                                limit=limit), "received_at")
    if not rows:
        click.echo("no events" + (f" for {slug}" if slug else ""))
        return
    click.echo(f"{'id':>6}  {'tenant':<20} {'provider':<8} {'event_type':<22} {'status':<9} {'att':>3}  "
               f"{'received_at':<20} last_error")
    for tenant, event in rows[:limit]:
        click.echo(f"{event.id:>6}  {tenant.slug:<20} {event.provider:<8} {event.event_type:<22} {event.status:<9} "
                   f"{event.attempts:>3}  {_utc(event.received_at):<20} {_shorten(event.last_error)}")


@events.command("show")
@click.argument("event_id", metavar="ID", type=click.IntRange(min=1))
@click.option("--tenant", "slug", help=TENANT_HELP)
def events_show(event_id: int, slug: str | None) -> None:
    """Every column of event ID, and its payload as JSON."""
    tenant, event = _find(event_id, slug)
    echo_columns(tenant, event, skip=("payload",))
    click.echo("payload:")
    click.echo(json.dumps(event.payload, indent=2, ensure_ascii=False))


def newest(slug: str | None, fetch: Callable[[Session, int], list[Any]], moment: str) -> list[tuple[Tenant, Any]]:
    """Each tenant's rows from `fetch` (its newest few), merged newest first by the column `moment`."""
    rows: list[tuple[Tenant, Any]] = []
    for tenant in _tenants(slug):
        with tenant_session(tenant.id) as session:
            rows += [(tenant, row) for row in fetch(session, tenant.id)]
    rows.sort(key=lambda pair: (getattr(pair[1], moment), pair[1].id), reverse=True)
    return rows


def echo_columns(tenant: Tenant, row: Any, *, skip: tuple[str, ...] = (), width: int = 14) -> None:
    """One `column: value` line per column of a tenant's row, times in UTC, the tenant by slug."""
    for column in row.__table__.columns:
        if column.key in skip:
            continue
        value = getattr(row, column.key)
        if column.key == "tenant_id":
            value = f"{tenant.slug} ({tenant.id})"
        elif isinstance(value, datetime):
            value = _utc(value)
        click.echo(f"{column.key + ':':<{width}}{'-' if value is None else value}")


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
        targets = [_find(event_id, slug)]
    else:
        targets = []
        for tenant in _tenants(slug):
            with tenant_session(tenant.id) as session:
                targets += [(tenant, event) for event in inbox.failed_since(session, tenant.id, since)]

    from hookline.workers.handlers import handler_for

    replayed, skipped, unpublished = 0, 0, 0
    # One line per event for one ID; a bulk replay shows a progress bar (stderr, on a terminal only)
    # and names only the events that need a look, so thousands of replays stay readable.
    bulk = event_id is None
    with click.progressbar(targets, label="replaying", file=sys.stderr, show_pos=True) as bar:
        for tenant, event in bar:
            handler = handler_for(event.provider, event.event_type)
            if handler is None:
                _note(f"event {event.id} ({tenant.slug}): no handler for {event.provider} {event.event_type}, skipped",
                      bulk)
                skipped += 1
                continue
            with tenant_session(tenant.id) as session:
                inbox.reset_for_replay(session, tenant.id, event.id)
            replayed += 1
            # After one failed publish, leave the rest to the relay too rather than wait on the broker each time.
            if unpublished or not _publish(handler.task, tenant.id, event.id):
                unpublished += 1
                _note(f"event {event.id} ({tenant.slug}): pending, not published", bulk)
            elif not bulk:
                click.echo(f"event {event.id} ({tenant.slug}): published to {handler.task}")

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
        from hookline.workers.publish import publish  # the Celery app reads HOOKLINE_BROKER_URL on import

        publish(task, tenant_id=tenant_id, event_id=event_id)
    except Exception as exc:  # broker down or unset: the committed pending row is the source of truth
        click.echo(f"warning: could not publish ({exc}); replayed events stay pending and {RELAY} them "
                   "once the broker is back", err=True)
        return False
    with tenant_session(tenant_id) as session:
        inbox.mark_published(session, tenant_id, event_id)
    return True


def _tenants(slug: str | None) -> list[Tenant]:
    """The tenant with this slug, else every tenant: webhook_events can only be read one tenant at a time."""
    from hookline.cli import _use_database

    _use_database()
    with global_session() as session:
        if slug is None:
            return list(session.scalars(select(Tenant).order_by(Tenant.id)))
        tenant = get_by_slug(session, slug)
    if tenant is None:
        raise click.ClickException(f"no tenant with slug {slug!r}")
    return [tenant]


def _find(event_id: int, slug: str | None) -> tuple[Tenant, WebhookEvent]:
    """Event `event_id` of the tenant with this slug, else looked up tenant by tenant."""
    for tenant in _tenants(slug):
        with tenant_session(tenant.id) as session:
            event = inbox.get(session, tenant.id, event_id)
        if event is not None:
            return tenant, event
    raise click.ClickException(f"no event {event_id}" + (f" for tenant {slug}" if slug else ""))


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def _shorten(error: str | None, width: int = 60) -> str:
    if not error:
        return "-"
    line = " ".join(error.split())
    return line if len(line) <= width else line[: width - 1] + "…"
