"""Appointments, placed in their calendar."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from hookline.models import Appointment, Calendar
from hookline.services import records


def apply(session: Session, tenant_id: int, change: records.Change) -> int | None:
    """records.apply for an appointment whose values name its calendar by the provider's id."""
    values = dict(change.values)
    if not change.delete and "calendar_id" in values:
        values["calendar_id"] = records.reference(session, tenant_id, Calendar, change.provider, values["calendar_id"])
    return records.apply(session, tenant_id, Appointment, replace(change, values=values))
