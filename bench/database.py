"""A throwaway database for a bench: owned by a non-superuser role (row-level security binds, as in
production), migrated by the caller, dropped at the end whatever happens."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

ADMIN_URL = os.environ.get("HOOKLINE_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_HOST = os.environ.get("HOOKLINE_BENCH_PG_HOST", "127.0.0.1:5432")
APP_ROLE = "hookline_bench_app"


def admin(sql: str, dbname: str = "postgres", **params: object) -> None:
    """`sql` as the superuser, autocommitted (VACUUM works), in database `dbname`."""
    with psycopg.connect(ADMIN_URL, dbname=dbname, autocommit=True) as conn:
        conn.execute(sql, params or None)


@contextmanager
def bench_database() -> Iterator[tuple[str, str]]:
    """(name, url as the app role) of a new database; HOOKLINE_DATABASE_URL points at it meanwhile."""
    name = f"hookline_bench_{uuid.uuid4().hex[:10]}"
    admin(f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN "
          f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; END IF; END $$")
    admin(f"CREATE DATABASE {name} OWNER {APP_ROLE}")
    url = f"postgresql://{APP_ROLE}@{PG_HOST}/{name}"
    os.environ["HOOKLINE_DATABASE_URL"] = url
    try:
        yield name, url
    finally:
        from hookline.db import get_engine

        get_engine().dispose()
        admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
