"""`hookline recordings`: list recordings and queue a failed one again, one tenant at a time."""

from __future__ import annotations

import click

from hookline.commands.events import TENANT_HELP, _shorten, _tenants, _utc
from hookline.db import tenant_session
from hookline.models import Recording, RecordingStatus, Tenant
from hookline.services import recordings as service

UPLOAD_TASK = "hookline.tasks.audio_upload.upload_recording"


@click.group()
def recordings() -> None:
    """Call and meeting recordings: where they are stored, which failed, retry them."""


@recordings.command("list")
@click.option("--tenant", "slug", help=TENANT_HELP)
@click.option("--status", type=click.Choice([status.value for status in RecordingStatus]))
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
def recordings_list(slug: str | None, status: str | None, limit: int) -> None:
    """The newest recordings first, with their object key or last error."""
    rows: list[tuple[Tenant, Recording]] = []
    for tenant in _tenants(slug):
        with tenant_session(tenant.id) as session:
            rows += [(tenant, row) for row in service.recent(session, tenant.id, status=status, limit=limit)]
    rows.sort(key=lambda row: (row[1].created_at, row[1].id), reverse=True)
    if not rows:
        click.echo("no recordings" + (f" for {slug}" if slug else ""))
        return
    click.echo(f"{'id':>6}  {'tenant':<20} {'source':<10} {'status':<9} {'att':>3}  {'bytes':>12}  {'created_at':<20} "
               "object key / last error")
    for tenant, row in rows[:limit]:
        where = row.object_key if row.status == RecordingStatus.STORED.value else _shorten(row.last_error)
        click.echo(f"{row.id:>6}  {tenant.slug:<20} {row.source:<10} {row.status:<9} {row.attempts:>3}  "
                   f"{row.size_bytes if row.size_bytes is not None else '-':>12}  {_utc(row.created_at):<20} {where}")


@recordings.command("retry")
@click.argument("recording_id", metavar="ID", type=click.IntRange(min=1))
@click.option("--tenant", "slug", help=TENANT_HELP)
def recordings_retry(recording_id: int, slug: str | None) -> None:
    """Set failed (or stuck pending) recording ID back to pending and queue its upload.

    Attempts are kept. A Zoom recording whose 24-hour download token has expired fails again
    with HTTP 401: Zoom must send the event anew (or replay a newer event) for a fresh token.
    """
    for tenant in _tenants(slug):
        with tenant_session(tenant.id) as session:
            status = service.reset_for_retry(session, tenant.id, recording_id)
        if status is None:
            continue
        if status not in (RecordingStatus.PENDING.value, RecordingStatus.FAILED.value):
            raise click.ClickException(f"recording {recording_id} ({tenant.slug}) is {status}: nothing to retry")
        try:
            from hookline.workers.publish import publish  # the Celery app reads HOOKLINE_BROKER_URL on import

            publish(UPLOAD_TASK, tenant_id=tenant.id, recording_id=recording_id)
        except Exception as exc:  # broker down or unset: the row is pending, run this again later
            raise click.ClickException(f"recording {recording_id} is pending but not queued ({exc}); "
                                       "run this command again once the broker is back") from None
        click.echo(f"recording {recording_id} ({tenant.slug}): pending, queued to {UPLOAD_TASK}")
        return
    raise click.ClickException(f"no recording {recording_id}" + (f" for tenant {slug}" if slug else ""))
