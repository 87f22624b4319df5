"""Bulk replay by filter: a tracked job, run by a thread in the console process.

Why a thread, not a Celery task: the job only resets rows and publishes messages (the workers do
the replayed work), its progress lives in its row, and the console stays usable with every worker
busy or down. A console that restarts resumes its running jobs from their cursor (`resume`).

Idempotent: the form carries a one-time key, so posting it twice is one job; a second start of a
filter that is running joins that job; and each event is reset only while it still has the
filter's status, so two jobs over the same failed events replay each of them once.
"""

from __future__ import annotations

import hashlib
import json
import threading

import structlog
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from hookline.console.queries import EventFilter, count_events
from hookline.db import global_session, tenant_session
from hookline.models import ReplayJob, WebhookEvent
from hookline.services import replay

log = structlog.get_logger(__name__)

RUNNING, FINISHED, CANCELLED, FAILED = "running", "finished", "cancelled", "failed"
BATCH = 200
_threads: dict[int, threading.Thread] = {}
_lock = threading.Lock()


def filter_key(where: EventFilter) -> str:
    return hashlib.sha256(json.dumps(where.as_dict(), sort_keys=True).encode()).hexdigest()


def start(where: EventFilter, *, user: str, key: str) -> tuple[ReplayJob, bool]:
    """The job for `key` (made now, or earlier by the same form) and whether this call made it.

    A running job of the same filter is returned instead of a second one.
    """
    with global_session() as session:
        last_event = session.scalar(text("SELECT last_value FROM webhook_events_id_seq"))
        made = session.scalar(insert(ReplayJob).values(
            key=key, filter_key=filter_key(where), filter=where.as_dict(), started_by=user, state=RUNNING,
            last_event=last_event, total=0).on_conflict_do_nothing().returning(ReplayJob.id))
        job = session.scalars(select(ReplayJob).where(
            (ReplayJob.id == made) if made else
            ((ReplayJob.key == key) | ((ReplayJob.filter_key == filter_key(where)) & (ReplayJob.state == RUNNING))))
            .order_by(ReplayJob.id.desc()).limit(1)).one()
    if made:
        total = count_events(where, up_to=job.last_event)
        with global_session() as session:
            session.execute(update(ReplayJob).where(ReplayJob.id == job.id).values(total=total))
        job.total = total
        run_in_background(job.id)
    return job, bool(made)


def cancel(job_id: int, *, user: str) -> bool:
    """Stop a running job after its current event; False when it is not running."""
    with global_session() as session:
        result = session.execute(update(ReplayJob).where(ReplayJob.id == job_id, ReplayJob.state == RUNNING)
                                 .values(state=CANCELLED, cancelled_by=user, finished_at=func.now()))
    return result.rowcount == 1  # type: ignore[attr-defined]  # a DML statement's Result is a CursorResult


def get(job_id: int) -> ReplayJob | None:
    with global_session() as session:
        return session.get(ReplayJob, job_id)


def recent(limit: int = 50) -> list[ReplayJob]:
    with global_session() as session:
        return list(session.scalars(select(ReplayJob).order_by(ReplayJob.id.desc()).limit(limit)))


def resume() -> None:
    """Run every job left running by a console that stopped."""
    with global_session() as session:
        for job_id in session.scalars(select(ReplayJob.id).where(ReplayJob.state == RUNNING)):
            run_in_background(job_id)


def run_in_background(job_id: int) -> None:
    with _lock:
        if job_id in _threads and _threads[job_id].is_alive():
            return
        _threads[job_id] = threading.Thread(target=run, args=(job_id,), name=f"replay-job-{job_id}", daemon=True)
        _threads[job_id].start()


def run(job_id: int) -> None:
    """Walk the job's events tenant by tenant from its cursor, resetting and publishing each."""
    try:
        _walk(job_id)
    except Exception as exc:  # a database error: the job says so, the console keeps serving
        log.exception("console.replay_job.failed", job_id=job_id)
        with global_session() as session:
            session.execute(update(ReplayJob).where(ReplayJob.id == job_id, ReplayJob.state == RUNNING)
                            .values(state=FAILED, error=str(exc)[:2000], finished_at=func.now()))


def _walk(job_id: int) -> None:
    job = get(job_id)
    if job is None:  # deleted before it ran
        return
    where = EventFilter.parse(job.filter)
    broker_down = False
    for tenant in sorted(where.tenants(), key=lambda tenant: tenant.id):
        if tenant.id < job.cursor_tenant:
            continue
        after = job.cursor_event if tenant.id == job.cursor_tenant else 0
        while True:
            with tenant_session(tenant.id) as session:
                events = list(session.scalars(
                    select(WebhookEvent).where(*where.where(tenant.id), WebhookEvent.id > after,
                                               WebhookEvent.id <= job.last_event)
                    .order_by(WebhookEvent.id).limit(BATCH)))
            if not events:
                break
            for event in events:
                current = get(job_id)
                if current is None or current.state != RUNNING:  # cancelled
                    return
                task = replay.reset_event(tenant.id, event, only_status=where.status)
                if task is not None and not broker_down:
                    try:
                        replay.publish_event(task, tenant.id, event.id, bulk=True)
                    except replay.Unpublished:  # the rest wait for the relay too
                        broker_down = True
                        log.warning("console.replay_job.broker_down", job_id=job_id)
                with global_session() as session:
                    session.execute(update(ReplayJob).where(ReplayJob.id == job_id).values(
                        done=ReplayJob.done + int(task is not None), skipped=ReplayJob.skipped + int(task is None),
                        cursor_tenant=tenant.id, cursor_event=event.id))
                after = event.id
    with global_session() as session:
        session.execute(update(ReplayJob).where(ReplayJob.id == job_id, ReplayJob.state == RUNNING)
                        .values(state=FINISHED, finished_at=func.now()))
    log.info("console.replay_job.finished", job_id=job_id)
