"""Engine, sessions, and `tenant_session`, which sets the tenant for row-level security."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from hookline.config import get_settings


class MissingTenant(ValueError):
    """Work for tenant data was asked for without a usable tenant id."""


def require_tenant(tenant_id: Any) -> int:
    """The tenant id, if it is a positive int (bool is refused even though it is an int)."""
    if isinstance(tenant_id, bool) or not isinstance(tenant_id, int) or tenant_id <= 0:
        raise MissingTenant(f"tenant_id must be a positive int, got {tenant_id!r}")
    return tenant_id


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    # pool_pre_ping: a PostgreSQL restart must not poison the pool with dead connections.
    # connect_timeout: a database that does not answer must fail fast (senders wait 3-5 s at most).
    return create_engine(get_settings().sqlalchemy_url, pool_pre_ping=True, pool_size=5, max_overflow=10,
                         pool_timeout=5, connect_args={"connect_timeout": 2})


@lru_cache(maxsize=1)
def _session_factory() -> sessionmaker[Session]:
    return sessionmaker(get_engine(), expire_on_commit=False)


@contextmanager
def tenant_session(tenant_id: int) -> Iterator[Session]:
    """One transaction scoped to a tenant: commits on success, rolls back on error.

    `app.tenant_id` is set transaction-locally, so a pooled connection never carries it over.
    Queries still say `WHERE tenant_id = …`; row-level security is the backstop.
    """
    tenant = str(require_tenant(tenant_id))
    with _session_factory()() as session, session.begin():
        session.execute(text("SELECT set_config('app.tenant_id', :tenant, true)"), {"tenant": tenant})
        yield session


@contextmanager
def global_session() -> Iterator[Session]:
    """One transaction over the tables that are not tenant-owned (tenants, connections)."""
    with _session_factory()() as session, session.begin():
        yield session


def reset_engine() -> None:
    """Drop pooled connections; called in each forked worker child."""
    if get_engine.cache_info().currsize:
        get_engine().dispose(close=False)
