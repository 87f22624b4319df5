"""The console's audit log: every action, with who, what, when, the filter and how many rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hookline.console.users import User
from hookline.db import global_session
from hookline.models import AuditEntry


def record(user: User, action: str, *, filter: dict[str, Any] | None = None, count: int = 0,  # noqa: A002
           detail: str | None = None) -> None:
    with global_session() as session:
        session.add(AuditEntry(username=user.name, role=user.role, action=action, filter=filter or {},
                               count=count, detail=detail))


def recent(limit: int = 100) -> list[AuditEntry]:
    with global_session() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)))
