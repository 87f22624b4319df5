"""Behind PgBouncer in transaction mode (1.18, Debian's): no startup `options`, no session state,
prepared statements off by a setting, and a named subset of the suite run through a real one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

import psycopg
import pytest

from hookline.config import Settings
from tests.conftest import ADMIN_URL, APP_ROLE, DATABASE, PG_HOST
from tests.support.pgbouncer import pgbouncer

ROOT = Path(__file__).resolve().parents[1]
# The tests that run a second time through PgBouncer (README, "Behind PgBouncer"): the ingress's
# inbox writes and stamps, a real ingress and a real worker applying events (with the task
# recorder in it), the recorder on its own, tenant_session, and row-level security on the tables
# those write (every table's policy is the same expression; the full list runs directly).
ISOLATED_TABLES = ("webhook_events", "contacts", "task_runs", "connection_tokens")
POOLED_SUBSET = [
    "tests/ingress/test_inbox_batches.py",
    "tests/services/test_inbox_stamp.py",
    "tests/e2e/test_contact_webhook.py",
    "tests/tasks/test_task_runs_history.py",
    "tests/test_db.py",
    "tests/test_tenant_isolation.py::test_every_tenant_table_has_forced_row_level_security_and_is_tested_here",
    *(f"tests/test_tenant_isolation.py::{test}[{table}]" for table in ISOLATED_TABLES for test in (
        "test_a_session_without_the_tenant_setting_sees_nothing",
        "test_tenant_a_cannot_read_update_or_delete_tenant_bs_rows_even_by_id",
        "test_tenant_a_cannot_write_rows_into_tenant_b")),
]
NOT_POOLED = [
    # Counts the prepared statements PostgreSQL keeps per connection: with them off there are none.
    "tests/test_db.py::test_a_statement_run_often_in_a_tenant_session_is_never_given_a_stale_generic_plan",
    # Counts PostgreSQL's HOT updates, which depend on the server's pages, not on who connects.
    "tests/services/test_inbox_stamp.py::test_stamps_go_by_primary_key_and_leave_the_indexes_alone_on_a_table_never_analyzed",
]
SUBSET_TIMEOUT_SECONDS = 420  # ~80 s at a load of 10 on 2 cores


@pytest.fixture(scope="module")
def bouncer(tmp_path_factory) -> str:
    with pgbouncer(tmp_path_factory.mktemp("pgbouncer") / "pgbouncer.log", users=(APP_ROLE, "postgres")) as address:
        yield address


def test_the_pooled_subset_passes_through_pgbouncer(database, bouncer, tmp_path):
    # Its own run of pytest: the test settings (conftest) are made at import, from HOOKLINE_TEST_PG_HOST.
    env = {**os.environ, "HOOKLINE_TEST_PG_HOST": bouncer, "HOOKLINE_DATABASE_PREPARED_STATEMENTS": "false",
           "HOOKLINE_TEST_MIGRATE_PG_HOST": PG_HOST}  # migrations straight to PostgreSQL, as deployed
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *POOLED_SUBSET,
               *(f"--deselect={test}" for test in NOT_POOLED)]
    started = time.monotonic()

    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=SUBSET_TIMEOUT_SECONDS)

    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
    print(f"pooled subset through pgbouncer: {summary} ({time.monotonic() - started:.0f} s)")


def _migration():
    path = ROOT / "src" / "hookline" / "migrations" / "versions" / "0019_pooler_safe_settings.py"
    spec = spec_from_file_location("pooler_safe_settings", path)
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pgbouncer_refuses_the_startup_options_connections_used_to_send(database, bouncer):
    with pytest.raises(psycopg.OperationalError, match="unsupported startup parameter: options"):
        psycopg.connect(f"postgresql://{APP_ROLE}@{bouncer}/{DATABASE}", options="-c plan_cache_mode=force_custom_plan")


def test_custom_plans_are_the_default_of_every_session_the_pooler_opens(database, bouncer):
    with psycopg.connect(f"postgresql://{APP_ROLE}@{bouncer}/{DATABASE}") as conn:
        assert conn.execute("SHOW plan_cache_mode").fetchone() == ("force_custom_plan",)


def test_a_migrating_role_that_does_not_own_the_database_sets_custom_plans_for_itself(database):
    name = f"hookline_test_not_ours_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")  # owned by the superuser, not the app role
    try:
        with psycopg.connect(ADMIN_URL, dbname=name, user=APP_ROLE, autocommit=True) as app:
            app.execute(_migration()._database_or_role("SET plan_cache_mode = force_custom_plan"))
        with (psycopg.connect(ADMIN_URL, dbname=name, user=APP_ROLE) as app,
              psycopg.connect(ADMIN_URL, dbname=name) as admin):
            modes = [conn.execute("SHOW plan_cache_mode").fetchone()[0] for conn in (app, admin)]
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # its role settings go with it

    assert modes == ["force_custom_plan", "auto"]


def _run_often(address: str, **kwargs) -> str | None:
    """Two clients take turns on PgBouncer's one server connection, each running one statement
    eight times; the error that stopped them, or None."""
    url = f"postgresql://{APP_ROLE}@{address}/{DATABASE}"
    with psycopg.connect(url, autocommit=True, **kwargs) as first, psycopg.connect(url, autocommit=True, **kwargs) as second:
        try:
            for run in range(8):
                for conn in (first, second):
                    conn.execute("SELECT count(*) FROM tenants WHERE id > %s", (run,))
        except psycopg.Error as exc:
            return str(exc)
    return None


def test_prepared_statements_off_share_a_server_connection_that_psycopgs_default_breaks(database, tmp_path):
    settings = Settings(database_prepared_statements=False)

    with pgbouncer(tmp_path / "pgbouncer.log", pool_size=1, users=(APP_ROLE,)) as address:
        default = _run_often(address)
        off = _run_often(address, **settings.psycopg_kwargs())

    # psycopg prepares a statement at its sixth run, under a name the next client prepares again
    # on the same server connection (PgBouncer 1.18 does not track them; 1.21+ can).
    assert default is not None and "prepared statement" in default
    assert off is None
