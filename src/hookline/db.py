"""Engine, sessions, and `tenant_session`, which sets the tenant for row-level security."""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from psycopg.pq import ConnStatus, TransactionStatus
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
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
    # connect_timeout: a database that does not answer must fail fast (senders wait 3-5 s at most).
    # No session settings go with the connection (a pooler refuses startup `options`): custom plans
    # are the database's own default (migration 0019), the rest is set per transaction.
    settings = get_settings()
    engine = create_engine(settings.sqlalchemy_url, pool_size=5, max_overflow=10, pool_timeout=5,
                           connect_args={"connect_timeout": 2, **settings.psycopg_kwargs()})
    # A PostgreSQL restart must not poison the pool with dead connections: _alive does what
    # pool_pre_ping did, without its round trip on every checkout.
    event.listen(engine, "checkout", _alive)
    event.listen(engine, "checkin", _psycopg_begins_again)
    return engine


def _alive(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Refuse a pooled connection the server has closed; the pool then connects anew.

    An idle connection has nothing to read: a readable socket means the server said goodbye
    (a restart, pg_terminate_backend) or hung up. Raising DisconnectionError at checkout is
    SQLAlchemy's documented way to have the pool replace it.
    """
    if dbapi_connection.closed or dbapi_connection.pgconn.status != ConnStatus.OK:
        raise DisconnectionError("the connection is closed")
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN)
    if poller.poll(0):
        raise DisconnectionError("the server closed the connection")


def _psycopg_begins_again(dbapi_connection: Any, record: Any) -> None:
    # tenant_session turned autocommit on to send its own BEGIN (see _begin_for); the connection's
    # next user gets psycopg's own transactions back. The pool has rolled back by now.
    if dbapi_connection is None or dbapi_connection.closed or not dbapi_connection.autocommit:
        return
    if dbapi_connection.pgconn.transaction_status != TransactionStatus.IDLE:  # broken: no reset possible
        dbapi_connection.close()  # so _alive refuses it and the pool connects anew
        return
    dbapi_connection.autocommit = False


@lru_cache(maxsize=1)
def _session_factory() -> sessionmaker[Session]:
    return sessionmaker(get_engine(), expire_on_commit=False)


@contextmanager
def tenant_session(tenant_id: int, *, redone_from_inbox: bool = False) -> Iterator[Session]:
    """One transaction scoped to a tenant: commits on success, rolls back on error.

    `app.tenant_id` is set transaction-locally, so a pooled connection never carries it over.
    Queries still say `WHERE tenant_id = …`; row-level security is the backstop.

    `redone_from_inbox`: the commit does not wait for its WAL flush (synchronous_commit off, this
    transaction only). Only for a transaction whose whole effect is redone if a PostgreSQL crash
    loses it: one that marks an inbox row processed together with its change (`inbox.take`), so
    a lost commit leaves the row pending for the sweeper, never a change without its mark.
    """
    tenant = require_tenant(tenant_id)
    with _session_factory()() as session, session.begin():
        _begin_for(session, tenant, wait_for_flush=not redone_from_inbox)
        yield session


def _begin_for(session: Session, tenant: int, *, wait_for_flush: bool = True) -> None:
    """BEGIN and set the tenant in one round trip (psycopg would send its own BEGIN and wait for it first).

    With autocommit on, psycopg sends no BEGIN of its own, and its COMMIT and ROLLBACK still end
    the transaction they find open, so the session commits and rolls back as ever; the pool turns
    autocommit off again at checkin. `tenant` is a checked int: nothing else is in the SQL.
    """
    driver = session.connection().connection.driver_connection
    assert driver is not None  # a checked-out connection has its psycopg connection
    driver.autocommit = True
    flush = "" if wait_for_flush else "; SET LOCAL synchronous_commit = off"
    driver.execute(f"BEGIN; SELECT set_config('app.tenant_id', '{int(tenant)}', true){flush}")


def scope_to_tenant(session: Session, tenant_id: int) -> None:
    """Set the tenant (row-level security) for the rest of an open global transaction: one that has
    just created the tenant, and writes its first tenant-owned rows in the same commit."""
    session.connection().exec_driver_sql("SELECT set_config('app.tenant_id', %(tenant)s, true)",
                                         {"tenant": str(require_tenant(tenant_id))})


@contextmanager
def global_session() -> Iterator[Session]:
    """One transaction over the tables that are not tenant-owned (tenants, connections)."""
    with _session_factory()() as session, session.begin():
        yield session


def reset_engine() -> None:
    """Drop pooled connections; called in each forked worker child."""
    if get_engine.cache_info().currsize:
        get_engine().dispose(close=False)
