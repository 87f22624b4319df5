"""Test settings: a fresh PostgreSQL database owned by a non-superuser role, a Redis db, test keys.

The environment is set at import time, before any hookline module reads its settings.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
import pytest
import redis
from cryptography.fernet import Fernet

from tests.support import keys as test_keys
from tests.support.sentinel import sentinels  # noqa: F401 - the session's Redis Sentinel cluster, for any test

ADMIN_URL = os.environ.get("HOOKLINE_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_HOST = os.environ.get("HOOKLINE_TEST_PG_HOST", "127.0.0.1:5432")
REDIS_URL = os.environ.get("HOOKLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
# The app connects as a role that is neither superuser nor BYPASSRLS, so row-level security binds.
APP_ROLE = "hookline_test_app"
DATABASE = f"hookline_test_{uuid.uuid4().hex[:10]}"
DATABASE_URL = f"postgresql://{APP_ROLE}@{PG_HOST}/{DATABASE}"
# Migrations go straight to PostgreSQL when the tests connect through a pooler (tests/test_pgbouncer.py),
# as a deployment migrates (compose.yaml's `migrate`): a pooled server connection opened before
# migration 0019 keeps the old plan_cache_mode, and a later test could be handed it.
MIGRATE_URL = f"postgresql://{APP_ROLE}@{os.environ.get('HOOKLINE_TEST_MIGRATE_PG_HOST', PG_HOST)}/{DATABASE}"
KEY_DIR = Path(os.environ.get("TMPDIR", "/tmp")) / f"hookline-test-keys-{DATABASE}"
KEY_DIR.mkdir(parents=True, exist_ok=True)
(KEY_DIR / "ghl_rsa.pem").write_text(test_keys.rsa_public_pem())

os.environ.update(
    HOOKLINE_TEST_REDIS_URL=REDIS_URL,  # the default too, for helper processes the tests start
    HOOKLINE_DATABASE_URL=DATABASE_URL,
    HOOKLINE_BROKER_URL=REDIS_URL,
    HOOKLINE_GHL_WEBHOOK_PUBLIC_KEY=str(KEY_DIR / "ghl_rsa.pem"),  # the path form
    HOOKLINE_GHL_WEBHOOK_ED25519_PUBLIC_KEY=test_keys.ed25519_public_pem(),  # the PEM-text form
    HOOKLINE_SECRET_KEYS=Fernet.generate_key().decode(),  # tokens at rest; never the dev key file under var/
)


def _admin(sql: str, dbname: str = "postgres") -> None:
    with psycopg.connect(ADMIN_URL, dbname=dbname, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session", autouse=True)
def database() -> str:
    """A new database, migrated with Alembic, dropped at the end of the run."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone()
        if not exists:
            conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS")
        conn.execute(f"CREATE DATABASE {DATABASE} OWNER {APP_ROLE}")
    from hookline.migrate import upgrade

    upgrade(MIGRATE_URL)
    yield DATABASE_URL
    from hookline.db import get_engine

    get_engine().dispose()
    _admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


@pytest.fixture(scope="session")
def redis_client() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture()
def clean_tables(database: str) -> None:
    """Empty every table (as the admin, past row-level security) before a test that counts rows.

    Ids start again at 1, so Hookline's keys in Redis go too: the broker's bits of which event
    ids were published (transport/published.py), tenants' fairness and rate counters. An earlier
    test's event 1 or tenant 1 is not this test's.
    """
    _admin("DO $$ BEGIN EXECUTE (SELECT 'TRUNCATE ' || string_agg(format('%I', tablename), ', ')"
           " || ' RESTART IDENTITY CASCADE' FROM pg_tables"
           " WHERE schemaname = 'public' AND tablename <> 'alembic_version'); END $$", dbname=DATABASE)
    client = redis.Redis.from_url(REDIS_URL)
    client.delete(*client.keys("hookline:*") or ["-"])
    client.close()


@pytest.fixture()
def tenant(clean_tables):
    from hookline.db import global_session
    from hookline.services.tenants import add_tenant

    with global_session() as session:
        return add_tenant(session, "Sunny Solar", ghl_location_id="loc-sunny-001")


@pytest.fixture()
def other_tenant(tenant):
    from hookline.db import global_session
    from hookline.services.tenants import add_tenant

    with global_session() as session:
        return add_tenant(session, "Call Centre Two", ghl_location_id="loc-callcentre-002")
