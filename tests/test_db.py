"""Sessions on real PostgreSQL: the tenant set with BEGIN, the pool after a tenant session, dead connections."""

import psycopg
import pytest
from sqlalchemy import select, text

from hookline.db import get_engine, global_session, tenant_session
from hookline.models import Tenant
from tests.conftest import ADMIN_URL, DATABASE


def backend_pids() -> set[int]:
    with psycopg.connect(ADMIN_URL, dbname=DATABASE, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
                            "AND application_name = ''", (DATABASE,)).fetchall()
    return {pid for (pid,) in rows}


def test_a_tenant_session_is_one_transaction_for_its_tenant(tenant):
    with tenant_session(tenant.id) as session:
        first = session.scalar(text("SELECT txid_current()"))
        setting = session.scalar(text("SELECT current_setting('app.tenant_id')"))
        second = session.scalar(text("SELECT txid_current()"))

    assert (setting, first) == (str(tenant.id), second)


def test_a_failed_tenant_session_rolls_back_everything_it_did(tenant):
    with pytest.raises(RuntimeError):
        with tenant_session(tenant.id) as session:
            session.execute(text("UPDATE tenants SET name = 'renamed' WHERE id = :id"), {"id": tenant.id})
            raise RuntimeError("the task failed")

    with global_session() as session:
        assert session.scalar(select(Tenant.name).where(Tenant.id == tenant.id)) == "Sunny Solar"


def test_after_a_tenant_session_the_pooled_connection_is_transactional_again(tenant):
    get_engine().dispose()
    with tenant_session(tenant.id):
        pass

    with pytest.raises(RuntimeError):  # the same pooled connection (the pool holds just this one)
        with global_session() as session:
            session.execute(text("UPDATE tenants SET name = 'renamed' WHERE id = :id"), {"id": tenant.id})
            raise RuntimeError("rolled back, not autocommitted")

    with global_session() as session:
        assert session.scalar(select(Tenant.name).where(Tenant.id == tenant.id)) == "Sunny Solar"
        assert session.connection().connection.driver_connection.autocommit is False


def test_a_pooled_connection_the_server_closed_is_replaced_without_an_error(tenant):
    get_engine().dispose()
    with tenant_session(tenant.id):
        pass
    pooled = backend_pids()
    with psycopg.connect(ADMIN_URL, dbname=DATABASE, autocommit=True) as conn:
        for pid in pooled:  # as a PostgreSQL restart does to every connection
            conn.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))

    with tenant_session(tenant.id) as session:
        assert session.scalar(text("SELECT current_setting('app.tenant_id')")) == str(tenant.id)

    assert pooled and not pooled & backend_pids()


def test_only_a_transaction_redone_from_the_inbox_skips_waiting_for_its_wal_flush(tenant):
    with tenant_session(tenant.id, redone_from_inbox=True) as session:
        redone = session.scalar(text("SELECT current_setting('synchronous_commit')"))
    with tenant_session(tenant.id) as session:
        plain = session.scalar(text("SELECT current_setting('synchronous_commit')"))

    assert (redone, plain) == ("off", "on")


def test_a_connection_lost_inside_a_tenant_session_fails_it_and_the_next_session_works(tenant):
    from sqlalchemy.exc import OperationalError

    with pytest.raises(OperationalError):
        with tenant_session(tenant.id) as session:
            pid = session.scalar(text("SELECT pg_backend_pid()"))
            with psycopg.connect(ADMIN_URL, dbname=DATABASE, autocommit=True) as conn:
                conn.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
            session.execute(text("SELECT 1"))

    with tenant_session(tenant.id) as session:
        assert session.scalar(text("SELECT current_setting('app.tenant_id')")) == str(tenant.id)


def test_a_statement_run_often_in_a_tenant_session_is_never_given_a_stale_generic_plan(tenant):
    # psycopg prepares a statement from its 5th run; PostgreSQL would then settle on a generic plan
    # costed against the table as it was (here: empty, never analyzed) and keep it. Custom plans
    # are costed against the table as it is, so the primary-key lookup stays one.
    from hookline.services import inbox

    with tenant_session(tenant.id) as session:
        for event_id in range(1, 13):
            assert inbox.take(session, tenant.id, event_id) is None
        plans = session.execute(text(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE 'UPDATE webhook_events%'"
        )).all()

    assert len(plans) == 1 and plans[0].generic_plans == 0 and plans[0].custom_plans >= 6


def test_every_connection_hookline_opens_plans_for_the_table_as_it_is(tenant):
    import asyncio

    from hookline.config import get_settings
    from hookline.ingress.inbox_writer import InboxWriter
    from hookline.workers.taskruns import Recorder

    async def ingress_mode() -> tuple[str, int | None]:
        writer = InboxWriter(get_settings())
        await writer.pool.open(wait=True)
        try:
            async with writer.pool.connection() as conn:
                return (await (await conn.execute("SHOW plan_cache_mode")).fetchone())[0], conn.prepare_threshold
        finally:
            await writer.close()

    with tenant_session(tenant.id) as session:
        worker = session.scalar(text("SHOW plan_cache_mode")), session.connection().connection.prepare_threshold
    recorder = Recorder()
    try:
        connection = recorder._connection()
        task_runs = connection.execute("SHOW plan_cache_mode").fetchone()[0], connection.prepare_threshold
    finally:
        recorder._drop()

    # The database's own default (migration 0019), and psycopg's prepared statements as the settings say.
    threshold = get_settings().psycopg_kwargs().get("prepare_threshold", 5)
    assert (worker, task_runs, asyncio.run(ingress_mode())) == (("force_custom_plan", threshold),) * 3
