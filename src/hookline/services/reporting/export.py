"""CSV exports of rolled-up figures: written to storage, announced through the email outbox."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hookline.config import get_settings
from hookline.db import require_tenant
from hookline.integrations.storage import make_storage
from hookline.models import EmailMessage, ReportMetric, Tenant
from hookline.services import messaging

EXPORT_COLUMNS = ("day", "metric", "dimension", "count", "amount")
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


@dataclass(frozen=True)
class Export:
    key: str  # the storage key, "{tenant_id}/reports/{name}"
    rows: int  # figures in the file, header not counted
    email: EmailMessage  # the report_ready message in the outbox


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(
        ["" if value is None else value for value in row] for row in rows)
    return buffer.getvalue()


def write_export(tenant_id: int, name: str, rows: Iterable[Sequence[Any]]) -> str:
    """Write `rows` (the header first) as CSV under the tenant's `reports/` in storage; return the key.

    Through the configured storage backend (integrations/storage: local files by default, or
    S3-compatible), which replaces an object whole: a reader never sees half a report.
    """
    tenant_id = require_tenant(tenant_id)
    if not SAFE_NAME.fullmatch(name):
        raise ValueError(f"export name {name!r} must be a plain file name")
    key = f"{tenant_id}/reports/{name}"
    make_storage(get_settings()).write(key, [csv_text(rows).encode()], content_type="text/csv")
    return key


def metric_rows(session: Session, tenant_id: int, first: date, last: date) -> list[tuple[Any, ...]]:
    """The tenant's rolled-up figures for first..last, in the export's column order."""
    statement = (
        select(ReportMetric.day, ReportMetric.metric, ReportMetric.dimension, ReportMetric.count, ReportMetric.amount)
        .where(ReportMetric.tenant_id == require_tenant(tenant_id), ReportMetric.day.between(first, last))
        .order_by(ReportMetric.day, ReportMetric.metric, ReportMetric.dimension)
    )
    return [tuple(row) for row in session.execute(statement)]


def export_report(session: Session, tenant_id: int, first: date, last: date, *, recipient: str) -> Export:
    """Write first..last's figures to storage and record a `report_ready` email to `recipient`.

    The email is recorded once per (file, content): exporting the same figures again rewrites the
    same file and records no second email; changed figures make a new one.
    """
    rows = metric_rows(session, tenant_id, first, last)
    table = [EXPORT_COLUMNS, *rows]
    key = write_export(tenant_id, f"kpis_{first}_{last}.csv", table)
    digest = hashlib.sha256(csv_text(table).encode()).hexdigest()[:16]
    tenant_name = session.scalar(select(Tenant.name).where(Tenant.id == tenant_id))
    message = messaging.enqueue(
        session, tenant_id, template="report_ready", recipient=recipient,
        context={"tenant": tenant_name, "from": first.isoformat(), "to": last.isoformat(), "storage_key": key,
                 "rows": len(rows)},
        idempotency_key=f"report_ready:{key}:{digest}",
    )
    return Export(key, len(rows), message)
