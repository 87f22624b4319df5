"""Appointments, placed in their calendar."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from hookline.models import Appointment, Calendar
from hookline.services import records


def apply(session: Session, tenant_id: int, change: records.Change) -> int | None:
    """records.apply for an appointment whose values name its calendar by the provider's id."""
    return records.apply(session, tenant_id, Appointment, _placed(session, tenant_id, change, {}))


def apply_many(session: Session, tenant_id: int, changes: list[records.Change]) -> int:
    """records.apply_many for a page of appointments; each calendar is looked up once."""
    known: dict[str, int | None] = {}
    return records.apply_many(session, tenant_id, Appointment, [_placed(session, tenant_id, c, known) for c in changes])


def _placed(session: Session, tenant_id: int, change: records.Change, known: dict[str, int | None]) -> records.Change:
    values = dict(change.values)
    if not change.delete and "calendar_id" in values:
        calendar = values["calendar_id"]
        if calendar not in known:
            known[calendar] = records.reference(session, tenant_id, Calendar, change.provider, calendar)
        values["calendar_id"] = known[calendar]
    return replace(change, values=values)
