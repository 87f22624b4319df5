"""`hookline status`: one screen — queues, workers, beat leader, GoHighLevel's key, backlog, dead letters, failures."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import click
from sqlalchemy import select, text

from hookline.db import global_session
from hookline.models import Tenant
from hookline.services.ghl_webhooks import signature_problem


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def beat_leader(settings) -> str:  # noqa: ANN001 - hookline.config.Settings
    """The leading beat's host:pid from its Redis lock (scheduler/beat.py), or why there is none."""
    import redis

    from hookline.config import redis_client_url
    from hookline.redis_clients import sync_client
    from hookline.scheduler.beat import current_leader

    url = redis_client_url(settings)
    if url is None:
        return "unknown (no Redis: set HOOKLINE_REDIS_URL)"
    try:
        client = sync_client(url, master=settings.redis_sentinel_master, socket_timeout=2)
        return current_leader(client) or "none (no beat holds the lock)"
    except redis.RedisError as exc:
        return f"unknown (Redis unreachable: {exc})"


@click.command()
@click.option("--timeout", default=1.0, show_default=True, type=click.FloatRange(0.1, 30),
              help="Seconds to wait for workers to answer the ping.")
def status(timeout: float) -> None:
    """Queue depths, workers, beat leader, inbox backlog, dead letters, failures in the last hour."""
    from hookline import dev_webhook_key, embedded
    from hookline.cli import _settings

    settings = _settings()
    dev_webhook_key.trust(settings)  # embedded default only: the GoHighLevel key `hookline dev` trusts
    if settings.database_url is None or settings.broker_url is None:  # the embedded servers of `hookline dev`
        embedded.fill_in(settings, broker=True)
        settings = _settings()  # now with their URLs: the beat leader's lock is in that Redis
    from hookline.workers.app import app  # reads the broker URL on import
    from hookline.workers.backlog import queue_states, tenant_health

    trouble = []

    click.echo(f"{'queue':<14}{'depth':>7}  oldest")
    try:
        for state in queue_states(app):
            click.echo(f"{state.name:<14}{state.depth:>7}  {_ago(state.oldest_age)}")
    except Exception as exc:  # noqa: BLE001 - the broker is down: say so and show what PostgreSQL knows
        click.echo(f"  broker unreachable: {exc}")
        trouble.append("broker")

    click.echo("")
    try:
        answers = app.control.ping(timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - the broker is down: say so, report the rest
        answers = []
        click.echo(f"workers: could not ask ({exc})")
    else:
        names = sorted(name for answer in answers for name in answer)
        click.echo(f"workers: {len(names)} answered the ping within {timeout:g} s" if names
                   else f"workers: none answered the ping within {timeout:g} s")
        for name in names:
            click.echo(f"  {name}")
    click.echo(f"beat leader: {beat_leader(settings)}")

    click.echo("")
    try:
        with global_session() as session:
            slugs = dict(session.execute(select(Tenant.id, Tenant.slug)).tuples().all())
            ghl_problem = signature_problem(session, settings)
            # dead_letters comes with another change; read it only where it exists.
            has_dead_letters = session.scalar(text("SELECT to_regclass('dead_letters') IS NOT NULL"))
        rows = tenant_health(timedelta(hours=1))
    except Exception as exc:  # noqa: BLE001 - any failure to reach it: one clear line and exit 1
        click.echo(f"database unreachable: {exc}")
        raise click.exceptions.Exit(1) from None
    if ghl_problem is not None:  # every GoHighLevel delivery is answered 401 until it is set
        click.echo(f"GoHighLevel webhooks: {ghl_problem}")
        trouble.append("ghl")
    now = datetime.now(timezone.utc)
    pending = [row for row in rows if row.inbox_pending]
    oldest = min((row.oldest_pending for row in pending if row.oldest_pending is not None), default=None)
    click.echo(f"inbox backlog: {sum(row.inbox_pending for row in rows)} pending"
               + (f", oldest {_ago((now - oldest).total_seconds())} ago" if oldest else ""))
    for row in pending:
        click.echo(f"  {slugs.get(row.tenant_id, row.tenant_id)!s:<24}{row.inbox_pending:>7}  "
                   f"oldest {_ago((now - row.oldest_pending).total_seconds() if row.oldest_pending else None)}")
    if not has_dead_letters:
        click.echo("dead letters: no dead_letters table in this database")
    else:
        dead = [row for row in rows if row.dead_letters]
        click.echo(f"dead letters: {sum(row.dead_letters or 0 for row in dead)}")
        for row in dead:
            click.echo(f"  {slugs.get(row.tenant_id, row.tenant_id)!s:<24}{row.dead_letters:>7}")
    failed = sorted((row for row in rows if row.runs_failed), key=lambda row: -row.runs_failed)
    click.echo(f"failed task runs in the last hour: {sum(row.runs_failed for row in failed)}")
    for row in failed:
        click.echo(f"  {slugs.get(row.tenant_id, row.tenant_id)!s:<24}{row.runs_failed:>7}")
    if trouble:
        raise click.exceptions.Exit(1)
