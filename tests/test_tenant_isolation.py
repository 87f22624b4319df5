"""Row-level security on every tenant-owned table: no tenant set sees nothing; tenant A never reaches B's rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from hookline.db import global_session, tenant_session
from hookline.models import (
    Appointment,
    Calendar,
    Connection,
    ConnectionToken,
    Contact,
    CrmPush,
    CrmTask,
    Customer,
    DeadLetter,
    Deal,
    DunningAttempt,
    DunningPolicy,
    EmailMessage,
    Invoice,
    Note,
    Payment,
    Pipeline,
    PipelineStage,
    Recording,
    ReportMetric,
    ResidentialOffer,
    ResidentialProject,
    ScheduledRun,
    Subscription,
    SyncRun,
    TaskRun,
    WebhookEvent,
)
from tests.conftest import ADMIN_URL, DATABASE

# Tenant-owned tables deliberately left without row-level security, and why.
NOT_ISOLATED = {"connections": "the routing table the ingress reads to find the tenant (docs/architecture.md)"}

# One row of each tenant-owned table, and the column a forged lookup names. A new tenant table
# needs a line here (a test says so).
@dataclass(frozen=True)
class Row:
    make: Callable[[Session, int, int], Any]  # (session, tenant_id, n) -> a model instance, prerequisites added
    key: str = "id"


def _token(session: Session, tenant_id: int, n: int) -> ConnectionToken:
    connection = Connection(tenant_id=tenant_id, provider="reonic", account_id=f"acct-{tenant_id}-{n}")
    session.add(connection)
    session.flush()
    return ConnectionToken(connection_id=connection.id, tenant_id=tenant_id, kind="api_key", access_token="ciphertext")


def _customer(session: Session, tenant_id: int, n: int) -> Customer:
    return Customer(tenant_id=tenant_id, external_id=f"cus_{n}", name=f"Customer {n}", email=f"c{n}@example.com")


def _invoice(session: Session, tenant_id: int, n: int) -> Invoice:
    customer = _customer(session, tenant_id, n)
    session.add(customer)
    session.flush()
    return Invoice(tenant_id=tenant_id, customer_id=customer.id, number=f"INV-{n}", amount=Decimal("10.00"),
                   currency="EUR", due_date=date(2026, 11, 1))


def _after(make: Callable[[Session, int, int], Any], build: Callable[[Any], Any]) -> Callable[[Session, int, int], Any]:
    """A row that needs another row first: `make` it, flush, then `build` from it."""
    def make_both(session: Session, tenant_id: int, n: int) -> Any:
        parent = make(session, tenant_id, n)
        session.add(parent)
        session.flush()
        return build(parent)
    return make_both


ROWS = {
    "webhook_events": Row(lambda s, tenant_id, n: WebhookEvent(
        tenant_id=tenant_id, provider="ghl", event_type="ContactCreate", dedupe_key=f"k{n}", payload={"n": n},
        status="pending")),
    "contacts": Row(lambda s, tenant_id, n: Contact(tenant_id=tenant_id, provider="ghl", external_id=f"ct-{n}",
                                                    email=f"person{n}@example.com")),
    "dead_letters": Row(lambda s, tenant_id, n: DeadLetter(
        tenant_id=tenant_id, task="hookline.tasks.ghl_sync.upsert_contact", task_id=f"task-{n}",
        kwargs={"tenant_id": tenant_id}, reason="permanent", error="ValueError: boom", status="dead")),
    "email_outbox": Row(lambda s, tenant_id, n: EmailMessage(
        tenant_id=tenant_id, template="welcome", recipient=f"person{n}@example.com", context={},
        idempotency_key=f"welcome:{n}")),
    "report_metrics": Row(lambda s, tenant_id, n: ReportMetric(
        tenant_id=tenant_id, day=date(2026, 11, 1), metric=f"leads{n}", dimension="", count=n), key="metric"),
    "recordings": Row(lambda s, tenant_id, n: Recording(
        tenant_id=tenant_id, source="zoom", external_id=f"file-{n}", source_url="https://zoom.example/rec",
        object_key=f"{tenant_id}/recordings/2026/11/{n}.m4a", extension="m4a")),
    "task_runs": Row(lambda s, tenant_id, n: TaskRun(
        tenant_id=tenant_id, task="hookline.tasks.ghl_sync.apply_event", task_id=f"task-{n}", state="started")),
    "connection_tokens": Row(_token, key="connection_id"),
    # The CRM mirror (migration 0005): every table keyed by (tenant, provider, external id).
    **{model.__tablename__: Row(lambda s, tenant_id, n, model=model: model(
        tenant_id=tenant_id, provider="ghl", external_id=f"{model.__tablename__}-{n}"))
       for model in (Pipeline, PipelineStage, Deal, Calendar, Appointment, Note, CrmTask, ResidentialProject,
                     ResidentialOffer)},
    "sync_runs": Row(lambda s, tenant_id, n: SyncRun(tenant_id=tenant_id, provider="ghl", resource=f"r{n}")),
    # Billing and dunning (migration 0010).
    "billing_customers": Row(_customer),
    "billing_subscriptions": Row(_after(_customer, lambda c: Subscription(
        tenant_id=c.tenant_id, customer_id=c.id, plan="solar-care"))),
    "billing_invoices": Row(_invoice),
    "billing_payments": Row(_after(_invoice, lambda i: Payment(
        tenant_id=i.tenant_id, invoice_id=i.id, external_id=f"pay-{i.number}", kind="payment", amount=Decimal("10.00"),
        currency="EUR", received_on=date(2026, 11, 2)))),
    "dunning_attempts": Row(_after(_invoice, lambda i: DunningAttempt(
        tenant_id=i.tenant_id, invoice_id=i.id, step=1, action="reminder", days_after_due=1,
        run_date=date(2026, 11, 2)))),
    "dunning_policies": Row(lambda s, tenant_id, n: DunningPolicy(tenant_id=tenant_id, reminder_days=[1, n]),
                            key="tenant_id"),
    # Pushes back to the CRM (migration 0021).
    "crm_pushes": Row(lambda s, tenant_id, n: CrmPush(tenant_id=tenant_id, kind="recording_note", key=f"recording:{n}",
                                                      subject_id=n)),
    "scheduled_runs": Row(lambda s, tenant_id, n: ScheduledRun(
        tenant_id=tenant_id, task=f"hookline.tasks.dunning.run_daily.{n}", local_date=date(2026, 11, 2)), key="task"),
}


def add(tenant_id: int, table: str, n: int) -> Any:
    with tenant_session(tenant_id) as session:
        row = ROWS[table].make(session, tenant_id, n)
        session.add(row)
        session.flush()
        return getattr(row, ROWS[table].key)


def tenant_tables() -> dict[str, tuple[bool, bool, int]]:
    """Every public table with a tenant_id column → (RLS enabled, forced, number of policies)."""
    with psycopg.connect(ADMIN_URL, dbname=DATABASE) as conn:
        rows = conn.execute(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,"
            " (SELECT count(*) FROM pg_policies p WHERE p.schemaname = 'public' AND p.tablename = c.relname)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r' AND EXISTS (SELECT 1 FROM information_schema.columns i"
            "   WHERE i.table_schema = 'public' AND i.table_name = c.relname AND i.column_name = 'tenant_id')"
        ).fetchall()
    return {name: (enabled, forced, policies) for name, enabled, forced, policies in rows}


def test_every_tenant_table_has_forced_row_level_security_and_is_tested_here(database):
    tables = tenant_tables()

    isolated = {name for name in tables if name not in NOT_ISOLATED}
    assert {name: tables[name] for name in isolated} == {name: (True, True, 1) for name in isolated}
    assert isolated == set(ROWS), "add a row factory to ROWS for each new tenant-owned table"


@pytest.mark.parametrize("table", ROWS)
def test_a_session_without_the_tenant_setting_sees_nothing(table, tenant, other_tenant):
    add(tenant.id, table, 1)
    add(other_tenant.id, table, 2)

    with global_session() as session:
        assert session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0
        assert session.execute(text(f"UPDATE {table} SET tenant_id = tenant_id")).rowcount == 0
        assert session.execute(text(f"DELETE FROM {table}")).rowcount == 0
    with tenant_session(tenant.id) as session:
        assert session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 1


@pytest.mark.parametrize("table", ROWS)
def test_tenant_a_cannot_read_update_or_delete_tenant_bs_rows_even_by_id(table, tenant, other_tenant):
    mine = add(tenant.id, table, 1)
    theirs = add(other_tenant.id, table, 2)

    with tenant_session(tenant.id) as session:
        forged = {"id": theirs}
        key = ROWS[table].key
        assert session.execute(text(f"SELECT {key} FROM {table} WHERE {key} = :id"), forged).all() == []
        assert session.execute(text(f"SELECT {key} FROM {table}")).scalars().all() == [mine]
        assert session.execute(text(f"UPDATE {table} SET tenant_id = tenant_id WHERE {key} = :id"), forged).rowcount == 0
        assert session.execute(text(f"DELETE FROM {table} WHERE {key} = :id"), forged).rowcount == 0

    with tenant_session(other_tenant.id) as session:  # B's row is still there, untouched
        assert session.execute(text(f"SELECT {key} FROM {table}")).scalars().all() == [theirs]


@pytest.mark.parametrize("table", ROWS)
def test_tenant_a_cannot_write_rows_into_tenant_b(table, tenant, other_tenant):
    mine = add(tenant.id, table, 1)

    with pytest.raises(ProgrammingError, match="row-level security"):
        with tenant_session(tenant.id) as session:
            session.add(ROWS[table].make(session, other_tenant.id, 2))
    with pytest.raises(ProgrammingError, match="row-level security"):
        with tenant_session(tenant.id) as session:
            session.execute(text(f"UPDATE {table} SET tenant_id = :other WHERE {ROWS[table].key} = :id"),
                            {"other": other_tenant.id, "id": mine})

    with tenant_session(other_tenant.id) as session:
        assert session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0
