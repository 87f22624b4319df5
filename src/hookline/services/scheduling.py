"""Beat's record in PostgreSQL: each schedule entry's last run, and each per-tenant run per local date."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from hookline.models import BeatRun, ScheduledRun


def claim_tenant_run(session: Session, tenant_id: int, task: str, local_date: date) -> bool:
    """True once per (tenant, task, local date): the fan-out enqueues only then."""
    return session.scalar(
        insert(ScheduledRun).values(tenant_id=tenant_id, task=task, local_date=local_date)
        .on_conflict_do_nothing().returning(ScheduledRun.task)
    ) is not None


def last_runs(session: Session) -> dict[str, datetime]:
    """When each beat schedule entry was last sent, by entry name (not tenant data)."""
    return dict(session.execute(select(BeatRun.name, BeatRun.last_run_at)).all())


def claim_beat_run(session: Session, name: str, *, seen: datetime | None, now: datetime, by: str) -> bool:
    """Move entry `name`'s last run from `seen` (what this beat believes; None: no row yet) to `now`.

    A compare-and-set: False when another beat moved it first, so even two beats that both think
    they lead (a paused leader whose lock expired) send an entry's run once.
    """
    statement = insert(BeatRun).values(name=name, last_run_at=now, sent_by=by)
    statement = statement.on_conflict_do_update(
        index_elements=[BeatRun.name], set_={"last_run_at": now, "sent_by": by},
        where=BeatRun.last_run_at == seen if seen is not None else BeatRun.last_run_at.is_(None))
    return session.scalar(statement.returning(BeatRun.name)) is not None
