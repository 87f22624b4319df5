"""`hookline recordings`: list recordings and queue a failed one again, one tenant at a time."""

from __future__ import annotations

import click

from hookline.commands.listing import TENANT_HELP, echo_newest, shorten, tenants, utc
from hookline.db import tenant_session
from hookline.models import Recording, RecordingStatus
from hookline.services import recordings as service

UPLOAD_TASK = "hookline.tasks.audio_upload.upload_recording"
COLUMNS = [("id", ">6"), ("tenant", "<20"), ("source", "<10"), ("status", "<9"), ("att", ">3"), ("bytes", ">12"),
           ("created_at", "<20"), ("object key / last error", "")]


@click.group()
def recordings() -> None:
    """Call and meeting recordings: where they are stored, which failed, retry them."""


@recordings.command("list")
@click.option("--tenant", "slug", help=TENANT_HELP)
@click.option("--status", type=click.Choice([status.value for status in RecordingStatus]))
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
def recordings_list(slug: str | None, status: str | None, limit: int) -> None:
    """The newest recordings first, with their object key or last error."""
    echo_newest(slug, lambda session, tenant_id: service.recent(session, tenant_id, status=status, limit=limit),
                "created_at", limit=limit, columns=COLUMNS, noun="recordings",
                cells=lambda tenant, row: (row.id, tenant.slug, row.source, row.status, row.attempts, row.size_bytes,
                                           utc(row.created_at), _where(row)))


def _where(row: Recording) -> str:
    return row.object_key if row.status == RecordingStatus.STORED.value else shorten(row.last_error)


@recordings.command("retry")
@click.argument("recording_id", metavar="ID", type=click.IntRange(min=1))
@click.option("--tenant", "slug", help=TENANT_HELP)
def recordings_retry(recording_id: int, slug: str | None) -> None:
    """Set failed (or stuck pending) recording ID back to pending and queue its upload.

    Attempts are kept. A Zoom recording whose 24-hour download token has expired fails again
    with HTTP 401: Zoom must send the event anew (or replay a newer event) for a fresh token.
    """
    for tenant in tenants(slug):
        with tenant_session(tenant.id) as session:
            status = service.reset_for_retry(session, tenant.id, recording_id)
        if status is None:
            continue
        if status not in (RecordingStatus.PENDING.value, RecordingStatus.FAILED.value):
            raise click.ClickException(f"recording {recording_id} ({tenant.slug}) is {status}: nothing to retry")
        try:
            from hookline.transport.publish import publish  # the Celery app reads HOOKLINE_BROKER_URL on import

            publish(UPLOAD_TASK, tenant_id=tenant.id, recording_id=recording_id)
        except Exception as exc:  # noqa: BLE001 - broker down or unset: the row is pending, run this again later
            raise click.ClickException(f"recording {recording_id} is pending but not queued ({exc}); "
                                       "run this command again once the broker is back") from None
        click.echo(f"recording {recording_id} ({tenant.slug}): pending, queued to {UPLOAD_TASK}")
        return
    raise click.ClickException(f"no recording {recording_id}" + (f" for tenant {slug}" if slug else ""))
