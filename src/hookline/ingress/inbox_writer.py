"""The ingress's inbox insert: an async psycopg pool, and the webhooks that arrive together stored together.

A delivery is stored at once when fewer than `max_writes` statements are in flight
(`HOOKLINE_INGRESS_INBOX_WRITES`, default 1); otherwise it waits for the next one, which takes
everything waiting (up to MAX_BATCH) as one statement, `hookline_store_events` (migration
0017): one round trip, one commit, one WAL flush for the lot, and the Python cost of one
statement instead of one each. Under light load nothing waits and every batch is one delivery;
under load batches grow by themselves, with no timer.

One statement at a time is the default because it measured best where PostgreSQL shares the
machine: at 1,400 webhooks/s on 2 cores, p99 ~12 ms in three runs of three against 21-51 ms
with 4 in flight, and ~15% less of PostgreSQL's CPU (fewer commits, fewer backends contending;
bench/README.md). Where PostgreSQL is a network hop away (round trips of ms), more statements in
flight keep a delivery from waiting behind a round trip.

Each delivery is answered only when its row is committed, so batching changes nothing a sender
sees. A batch that fails for any reason but the database being away is stored again one
delivery at a time (`hookline_store_event`, migration 0002), so one bad row fails only its own
request. The event loop never waits on a thread for any of it.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
import structlog
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from hookline.config import Settings, libpq_url
from hookline.ingress.accept import Delivery
from hookline.ingress.metrics import INBOX_BATCH_ROWS, INBOX_INSERT_SECONDS
from hookline.models import EventStatus
from hookline.services import inbox
from hookline.transport.published import mark_published_now
from hookline.workers.handlers import handler_for

log = structlog.get_logger(__name__)
T = TypeVar("T")
# The inbox cannot be written: connection refused or lost, or no pooled connection came free
# (SQLAlchemy's for the connection lookup, psycopg's for the insert; PoolTimeout is one of these).
DATABASE_DOWN = (OperationalError, InterfaceError, PoolTimeout, psycopg.OperationalError, psycopg.InterfaceError)
CONNECT_TIMEOUT_SECONDS = 2
# Waiting longer than this for a free connection means the inbox is not keeping up: answer "retry".
CHECKOUT_TIMEOUT_SECONDS = 2.0
# Rows per statement.
MAX_BATCH = 64


@dataclass
class _Waiting:
    delivery: Delivery
    status: EventStatus
    stored: asyncio.Future[inbox.Stored]

    @property
    def event(self) -> dict:
        d = self.delivery
        return {"tenant_id": d.tenant_id, "provider": d.provider, "event_type": d.event_type,
                "dedupe_key": d.dedupe_key, "payload": d.payload, "body": d.body, "status": self.status}

    @property
    def order(self) -> tuple[int, str, str]:
        return self.delivery.tenant_id, self.delivery.provider, self.delivery.dedupe_key


class InboxWriter:
    def __init__(self, settings: Settings) -> None:
        self.pool = AsyncConnectionPool(
            libpq_url(settings.database_url or ""), min_size=min(2, settings.ingress_db_pool_size),
            max_size=settings.ingress_db_pool_size, timeout=CHECKOUT_TIMEOUT_SECONDS, open=False,
            kwargs={"connect_timeout": CONNECT_TIMEOUT_SECONDS, "autocommit": True,
                    **settings.psycopg_kwargs()}, name="ingress-inbox",
        )
        # Statements in flight at once; the rest of the pool serves the publisher's stamps.
        self.max_writes = max(1, min(settings.ingress_inbox_writes, settings.ingress_db_pool_size - 1))
        self._waiting: list[_Waiting] = []
        self._writes = 0

    async def open(self) -> None:
        await self.pool.open(wait=False)  # connects in the background; a database down at start is a 503, not a crash

    async def close(self) -> None:
        await self.pool.close()

    async def store(self, delivery: Delivery) -> tuple[inbox.Stored, str | None]:
        """Store and commit the event; return it with the task to publish (None: ignored, or a duplicate).

        Only the delivery that created the row gets a task, so a concurrent twin never enqueues a
        second one, and a row whose publish failed is the relay's.
        """
        handler = handler_for(delivery.provider, delivery.event_type)
        status = EventStatus.PENDING if handler else EventStatus.IGNORED
        started = time.perf_counter()
        waiting = _Waiting(delivery, status, asyncio.get_running_loop().create_future())
        self._waiting.append(waiting)
        if self._writes < self.max_writes:
            self._writes += 1
            # In a context of its own: the writer stores other requests' rows, so its lines carry no request id.
            asyncio.get_running_loop().create_task(self._write(), context=contextvars.Context())
        stored = await waiting.stored
        INBOX_INSERT_SECONDS.observe(time.perf_counter() - started)
        return stored, handler.task if handler is not None and stored.created else None

    async def _write(self) -> None:
        """Store what is waiting, a batch at a time, until nothing is."""
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                try:
                    await self._store_batch(batch)
                except BaseException as exc:  # cancelled (shutdown): no request may wait for ever
                    for waiting in batch:
                        _settle(waiting, exception=exc)
                    raise
        finally:
            self._writes -= 1

    async def _store_batch(self, batch: list[_Waiting]) -> None:
        # In key order: two batches that share keys lock them in the same order (no deadlock).
        batch.sort(key=lambda waiting: waiting.order)
        try:
            if len(batch) == 1:
                results = [await self._with_connection(inbox.store_now, **batch[0].event)]
            else:
                results = await self._with_connection(inbox.store_many_now, [waiting.event for waiting in batch])
        except DATABASE_DOWN as exc:  # the database is away: every request in it answers "retry later"
            for waiting in batch:
                _settle(waiting, exception=exc)
            return
        except Exception as exc:  # noqa: BLE001 - one row the database refused fails the batch: store them one by one
            if len(batch) == 1:
                _settle(batch[0], exception=exc)
                return
            log.warning("ingress.inbox_batch_failed", size=len(batch), error=repr(exc))
            for waiting in batch:
                await self._store_batch([waiting])
            return
        INBOX_BATCH_ROWS.observe(len(batch))
        for waiting, stored in zip(batch, results, strict=True):
            _settle(waiting, result=stored)

    async def mark_published(self, tenant_id: int, event_ids: list[int]) -> None:
        """Stamp `published_at` on these rows of one tenant (the publisher, after a batch went out)."""
        async with self.pool.connection() as conn:
            await mark_published_now(conn, tenant_id, event_ids)

    async def _with_connection(self, statement: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        for attempt in (1, 2):
            try:
                async with self.pool.connection() as conn:
                    return await statement(conn, *args, **kwargs)
            except psycopg.OperationalError as exc:
                if attempt == 2 or isinstance(exc, psycopg.errors.QueryCanceled):
                    raise
                # A restarted PostgreSQL leaves idle pooled connections dead: drop them, try once more.
                log.warning("ingress.inbox_connection_lost", error=repr(exc))
                await self.pool.check()
        raise AssertionError("unreachable")


def _settle(waiting: _Waiting, *, result: inbox.Stored | None = None, exception: BaseException | None = None) -> None:
    if waiting.stored.done():  # its request went away (the client hung up); the row is stored all the same
        return
    if exception is not None:
        waiting.stored.set_exception(exception)
    else:
        assert result is not None  # a caller passes one or the other
        waiting.stored.set_result(result)
