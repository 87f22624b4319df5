"""Tasks on the maintenance queue: the relay and the sweeper that (re)publish inbox rows, the email
and recordings sweepers, task_runs pruning, the canary, and the fan-out that turns one cron tick
into a task per tenant."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from hookline.config import get_settings
from hookline.db import global_session, tenant_session
from hookline.models import Tenant
from hookline.scheduler.schedule import TICK_EVENTS
from hookline.services import inbox, messaging, pushes, recordings, scheduling, taskruns
from hookline.tasks.audio_upload import UPLOAD, UPLOAD_TIME_LIMIT
from hookline.tasks.email import SEND
from hookline.tasks.ghl_sync import TASKS as PUSH_TASKS
from hookline.transport import relay
from hookline.transport.publish import publish
from hookline.workers import liveness
from hookline.workers.app import app

log = structlog.get_logger(__name__)


def tenant_ids() -> list[int]:
    return [tenant_id for tenant_id, _ in tenant_zones()]


def tenant_zones() -> list[tuple[int, str]]:
    with global_session() as session:
        return [(tenant_id, zone) for tenant_id, zone in session.execute(select(Tenant.id, Tenant.timezone).order_by(Tenant.id))]




def each_tenant(work: Callable[[Session, int], int], *, batch: int | None = None) -> int:
    """`work(session, tenant_id)` in one transaction per tenant, one tenant at a time; the sum it returns.

    With `batch`, a tenant's `work` runs again, each time in its own short transaction, while it
    returns a full `batch` (there may be more). A publish inside `work` that fails rolls back that
    tenant's stamps, so its rows are found again.
    """
    done = 0
    for tenant_id in tenant_ids():
        while True:
            with tenant_session(tenant_id) as session:
                count = work(session, tenant_id)
            done += count
            if batch is None or count < batch:
                break
    return done


# System tasks, not TenantTasks: beat starts them with no tenant; they read only the tenant list
# globally and everything else through tenant_session, one tenant at a time.
@app.task(name="hookline.tasks.maintenance.relay_unpublished", send_events=TICK_EVENTS)
def relay_unpublished(older_than_seconds: float = 10.0, batch: int = 500) -> int:
    """Publish every pending inbox row older than `older_than_seconds` that was never published.

    The ingress commits, then publishes; when the broker was down, the row waits here. The age
    threshold keeps the relay out of the ingress's way on the normal path (transport/relay.py).
    """
    age = timedelta(seconds=older_than_seconds)
    relayed = each_tenant(lambda session, tenant_id: relay.publish_unpublished(session, tenant_id, older_than=age,
                                                                                 limit=batch))
    if relayed:
        log.info("relay.published", count=relayed)
    return relayed


@app.task(name="hookline.tasks.maintenance.sweep_stale", send_events=TICK_EVENTS)
def sweep_stale(older_than_seconds: float | None = None, batch: int = 500) -> int:
    """Publish again every inbox row still pending `older_than_seconds` after it was published.

    The broker is a transport, not a store: a Redis restarted without persistence loses its
    queues, and the rows in PostgreSQL are the truth. Default age: HOOKLINE_SWEEP_AFTER_SECONDS.
    """
    age = timedelta(seconds=older_than_seconds if older_than_seconds is not None
                    else get_settings().sweep_after_seconds)
    swept = each_tenant(lambda session, tenant_id: relay.publish_stale(session, tenant_id, older_than=age, limit=batch))
    if swept:
        log.warning("sweeper.republished", count=swept)
    return swept


@app.task(name="hookline.tasks.maintenance.sweep_email_outbox", send_events=TICK_EVENTS)
def sweep_email_outbox(requeue_after_seconds: float | None = None, stuck_after_seconds: float | None = None,
                       batch: int = 500) -> dict[str, int]:
    """Publish again every queued email whose send is overdue; fail every email stuck in `sending`.

    Overdue: the crash between the caller's commit and its publish, or a broker that lost the
    message. A duplicate publish is harmless: the send task claims a message once. Stuck: a
    worker died mid-send, so the message may have gone out; it is failed with that reason, never
    sent again by itself (at most once), and `hookline email replay` can send it on purpose.
    """
    settings = get_settings()
    requeue = timedelta(seconds=settings.email_requeue_after_seconds if requeue_after_seconds is None
                        else requeue_after_seconds)
    stuck = timedelta(seconds=settings.email_stuck_sending_seconds if stuck_after_seconds is None
                      else stuck_after_seconds)
    failed_stuck = 0

    def sweep(session: Session, tenant_id: int) -> int:
        nonlocal failed_stuck
        failed = messaging.fail_stuck(session, tenant_id, older_than=stuck)
        if failed:
            log.warning("email.stuck_sending_failed", tenant_id=tenant_id, message_ids=failed[:20], count=len(failed))
            failed_stuck += len(failed)
        overdue = messaging.take_overdue(session, tenant_id, older_than=requeue, limit=batch)
        for message_id in overdue:
            publish(SEND, tenant_id=tenant_id, message_id=message_id)  # inside: a failed publish rolls back
        return len(overdue)

    republished = each_tenant(sweep)
    counts = {"republished": republished, "failed_stuck": failed_stuck}
    if counts["republished"]:
        log.info("email.republished", count=counts["republished"])
    return counts


@app.task(name="hookline.tasks.maintenance.sweep_recordings", send_events=TICK_EVENTS)
def sweep_recordings(older_than_seconds: float | None = None, batch: int = 200) -> int:
    """Publish again the upload of every recording pending, or uploading past the upload's hard time
    limit, with nothing happening for `older_than_seconds` (HOOKLINE_RECORDINGS_SWEEP_AFTER_SECONDS).

    A worker that died between committing the rows and publishing their uploads, or a broker that
    lost the messages, strands them; the upload task takes a row once and overwrites its one key.
    """
    age = timedelta(seconds=get_settings().recordings_sweep_after_seconds if older_than_seconds is None
                    else older_than_seconds)
    busy = max(age, timedelta(seconds=UPLOAD_TIME_LIMIT))

    def republish(session: Session, tenant_id: int) -> int:
        ids = recordings.take_idle(session, tenant_id, pending_for=age, uploading_for=busy, limit=batch)
        for recording_id in ids:
            publish(UPLOAD, tenant_id=tenant_id, recording_id=recording_id)
        return len(ids)

    swept = each_tenant(republish)
    if swept:
        log.warning("recordings.republished", count=swept)
    return swept


@app.task(name="hookline.tasks.maintenance.sweep_pushes", send_events=TICK_EVENTS)
def sweep_pushes(older_than_seconds: float | None = None, batch: int = 200) -> int:
    """Publish again the task of every push to the CRM still pending `older_than_seconds`
    (HOOKLINE_PUSHES_SWEEP_AFTER_SECONDS) after it was published: `publish_after_commit` only logs
    a publish that fails after the commit. The push tasks send each push once, whoever runs them."""
    age = timedelta(seconds=get_settings().pushes_sweep_after_seconds if older_than_seconds is None
                    else older_than_seconds)

    def republish(session: Session, tenant_id: int) -> int:
        stale = pushes.take_stale(session, tenant_id, older_than=age, limit=batch)
        for kind, push_id in stale:
            publish(PUSH_TASKS[kind], tenant_id=tenant_id, push_id=push_id)
        return len(stale)

    swept = each_tenant(republish)
    if swept:
        log.warning("pushes.republished", count=swept)
    return swept


@app.task(name="hookline.tasks.maintenance.prune_task_runs", send_events=TICK_EVENTS)
def prune_task_runs(retention_days: float | None = None, batch: int = 10_000) -> int:
    """Delete task_runs rows older than the retention (HOOKLINE_TASK_RUNS_RETENTION_DAYS), tenant by tenant."""
    return _prune(taskruns.prune, "task_runs", get_settings().task_runs_retention_days if retention_days is None
                  else retention_days, batch)


@app.task(name="hookline.tasks.maintenance.prune_inbox", send_events=TICK_EVENTS)
def prune_inbox(retention_days: float | None = None, batch: int = 10_000) -> int:
    """Delete processed and ignored inbox events older than HOOKLINE_INBOX_RETENTION_DAYS, tenant by tenant."""
    return _prune(inbox.prune, "inbox", get_settings().inbox_retention_days if retention_days is None
                  else retention_days, batch)


def _prune(prune: Callable[..., int], what: str, days: float, batch: int) -> int:
    """`prune(session, tenant_id, before=…, limit=batch)` for every tenant, in batches of `batch` rows,
    each its own short transaction, so pruning never holds locks long."""
    before = datetime.now(timezone.utc) - timedelta(days=days)
    pruned = each_tenant(lambda session, tenant_id: prune(session, tenant_id, before=before, limit=batch), batch=batch)
    if pruned:
        log.info(f"{what}.pruned", count=pruned, before=before.isoformat())
    return pruned


@app.task(name="hookline.tasks.maintenance.canary")
def canary(token: str) -> None:
    """Sent by `hookline worker-check` to one worker's own queue: proof that it still consumes."""
    liveness.answer(token)


@app.task(name="hookline.tasks.maintenance.fan_out")
def fan_out(task: str, at_local_hour: int = 0, now: str | None = None) -> int:
    """Enqueue `task` (a TenantTask taking `local_date`) once per tenant and local date, in the tenant's zone.

    Beat runs this every hour; a tenant gets its task at the first run once its own clock has
    passed `at_local_hour`, with its local date, and never twice for one date (scheduled_runs).
    A tick missed while beat was down is made up by the next. Each tenant is its own small task,
    and here its own transaction: a bad time zone or a failing tenant is logged and skipped,
    never blocking the others. `now` (ISO 8601) is for tests; beat leaves it out.
    """
    moment = datetime.fromisoformat(now) if now else datetime.now(timezone.utc)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    sent = 0
    for tenant_id, zone in tenant_zones():
        try:
            local = moment.astimezone(ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError):
            log.error("fan_out.bad_timezone", task=task, tenant_id=tenant_id, timezone=zone)
            continue
        if local.hour < at_local_hour:
            continue
        try:
            with tenant_session(tenant_id) as session:  # the claim commits only if the publish worked
                if scheduling.claim_tenant_run(session, tenant_id, task, local.date()):
                    publish(task, tenant_id=tenant_id, local_date=local.date().isoformat())
                    sent += 1
        except Exception:  # one tenant's failure (its publish, its row) must not stop the rest
            log.exception("fan_out.tenant_failed", task=task, tenant_id=tenant_id)
    log.info("fan_out.enqueued", task=task, count=sent)
    return sent
