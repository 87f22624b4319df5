"""`hookline dev`'s embedded PostgreSQL: the app connects as a role that row-level security binds, as in production."""

from __future__ import annotations

import atexit
import warnings

import psycopg
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from hookline import embedded
from hookline.config import sqlalchemy_url
from hookline.migrate import upgrade
from hookline.models import Contact
from hookline.services.tenants import add_tenant

with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
    warnings.simplefilter("ignore")
    import pgserver


@pytest.fixture()
def var_dir(tmp_path):
    """A ./var whose embedded server is stopped at the end."""
    server = pgserver.get_server(tmp_path / "postgres", cleanup_mode="stop")
    yield tmp_path
    server.cleanup()
    # pgserver leaves its exit hook registered in "stop" mode; run at interpreter exit, after pytest
    # has closed the streams its logger writes to, it printed a "Logging error" under the summary.
    atexit.unregister(server._cleanup)
    if server in embedded._handles:
        embedded._handles.remove(server)


def as_tenant(session: Session, tenant_id: int) -> None:
    session.execute(text("SELECT set_config('app.tenant_id', :tenant, true)"), {"tenant": str(tenant_id)})


def test_dev_connects_as_a_role_that_row_level_security_binds(var_dir):
    url = embedded.postgres_url(var_dir)
    upgrade(url)  # the migrations run as that role too: it owns the database
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.begin() as conn:
            role = conn.execute(text("SELECT rolname, rolsuper, rolbypassrls FROM pg_roles"
                                     " WHERE rolname = current_user")).one()
        assert tuple(role) == (embedded.APP_ROLE, False, False)
        with Session(engine) as session, session.begin():
            ours, theirs = (add_tenant(session, name).id for name in ("Sunny Solar", "Call Centre Two"))
        for tenant_id in (ours, theirs):
            with Session(engine) as session, session.begin():
                as_tenant(session, tenant_id)
                session.add(Contact(tenant_id=tenant_id, provider="ghl", external_id=f"ct-{tenant_id}"))

        with Session(engine) as session, session.begin():
            as_tenant(session, ours)
            seen = session.scalars(select(Contact.tenant_id)).all()  # no WHERE: the policy alone filters
        with engine.begin() as conn:
            unscoped = conn.execute(text("SELECT count(*) FROM contacts")).scalar()
    finally:
        engine.dispose()

    assert seen == [ours]
    assert unscoped == 0


def test_a_var_made_when_dev_ran_as_the_superuser_is_handed_over_to_the_app_role(var_dir):
    server = pgserver.get_server(var_dir / "postgres", cleanup_mode="stop")
    server.psql("CREATE DATABASE hookline;")
    superuser = server.get_postmaster_info().get_uri(database="hookline")
    with psycopg.connect(superuser, autocommit=True) as conn:
        conn.execute("CREATE TABLE notes (id bigserial PRIMARY KEY, body text)")

    url = embedded.postgres_url(var_dir)

    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO notes (body) VALUES ('still ours')")  # owner now: no permission error
        owners = conn.execute("SELECT pg_get_userbyid(d.datdba), t.tableowner FROM pg_database d, pg_tables t"
                              " WHERE d.datname = current_database() AND t.tablename = 'notes'").fetchone()
    assert owners == (embedded.APP_ROLE, embedded.APP_ROLE)


def test_dev_seals_credentials_with_a_key_of_its_own_made_once_under_var(var_dir):
    from cryptography.fernet import Fernet

    from tests.support.cli import hookline

    embedded_only = {"without": ["HOOKLINE_DATABASE_URL", "HOOKLINE_SECRET_KEYS"],
                     "env": {"HOOKLINE_VAR_DIR": str(var_dir)}}
    steps = [hookline("db", "upgrade", **embedded_only),
             hookline("tenants", "add", "Sunny Solar", **embedded_only),
             hookline("connections", "add", "--tenant", "sunny-solar", "--provider", "reonic", "--account-id",
                      "rc-1", "--secret-stdin", input="reonic-signing-secret\n", **embedded_only)]

    assert [step.returncode for step in steps] == [0, 0, 0], [step.stderr for step in steps]
    key = (var_dir / "secret-key").read_text().strip()
    assert key not in "".join(step.stdout + step.stderr for step in steps)
    with psycopg.connect(embedded.postgres_url(var_dir)) as conn:
        [(secrets,)] = conn.execute("SELECT secrets FROM connections WHERE provider = 'reonic'").fetchall()
    assert Fernet(key.encode()).decrypt(secrets["webhook_secret"]["enc"].encode()) == b"reonic-signing-secret"
