"""Row-level security on every tenant-owned table: no tenant set sees nothing; tenant A never reaches B's rows."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from hookline.db import global_session, tenant_session
from hookline.models import Contact, DeadLetter, WebhookEvent
from tests.conftest import ADMIN_URL, DATABASE

# Tenant-owned tables deliberately left without row-level security, and why.
NOT_ISOLATED = {"connections": "the routing table the ingress reads to find the tenant (docs/architecture.md)"}

# One row of each tenant-owned table. A new tenant table needs a line here (a test says so).
ROWS = {
    "webhook_events": lambda tenant_id, n: WebhookEvent(tenant_id=tenant_id, provider="ghl", event_type="ContactCreate",
                                                        dedupe_key=f"k{n}", payload={"n": n}, status="pending"),
    "contacts": lambda tenant_id, n: Contact(tenant_id=tenant_id, provider="ghl", external_id=f"ct-{n}",
                                             email=f"person{n}@example.com"),
    "dead_letters": lambda tenant_id, n: DeadLetter(tenant_id=tenant_id, task="hookline.tasks.ghl_sync.upsert_contact",
                                                    task_id=f"task-{n}", kwargs={"tenant_id": tenant_id},
                                                    reason="permanent", error="ValueError: boom", status="dead"),
}


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


def add(tenant_id: int, table: str, n: int) -> int:
    with tenant_session(tenant_id) as session:
        row = ROWS[table](tenant_id, n)
        session.add(row)
        session.flush()
        return row.id


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
        assert session.execute(text(f"SELECT id FROM {table} WHERE id = :id"), forged).all() == []
        assert session.execute(text(f"SELECT id FROM {table}")).scalars().all() == [mine]
        assert session.execute(text(f"UPDATE {table} SET tenant_id = tenant_id WHERE id = :id"), forged).rowcount == 0
        assert session.execute(text(f"DELETE FROM {table} WHERE id = :id"), forged).rowcount == 0

    with tenant_session(other_tenant.id) as session:  # B's row is still there, untouched
        assert session.execute(text(f"SELECT id FROM {table}")).scalars().all() == [theirs]


@pytest.mark.parametrize("table", ROWS)
def test_tenant_a_cannot_write_rows_into_tenant_b(table, tenant, other_tenant):
    mine = add(tenant.id, table, 1)

    with pytest.raises(ProgrammingError, match="row-level security"):
        with tenant_session(tenant.id) as session:
            session.add(ROWS[table](other_tenant.id, 2))
    with pytest.raises(ProgrammingError, match="row-level security"):
        with tenant_session(tenant.id) as session:
            session.execute(text(f"UPDATE {table} SET tenant_id = :other WHERE id = :id"),
                            {"other": other_tenant.id, "id": mine})

    with tenant_session(other_tenant.id) as session:
        assert session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0
