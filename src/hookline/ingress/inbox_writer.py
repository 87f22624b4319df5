"""The ingress's inbox insert: an async psycopg pool and one autocommitted statement per webhook.

The event loop never waits on a thread for the insert, and the tenant for row-level security,
the INSERT, the duplicate's SELECT and the commit are one round trip (services.inbox.store_now,
the `hookline_store_event` function of migration 0002).
"""

from __future__ import annotations

import time

import psycopg
import structlog
from psycopg_pool import AsyncConnectionPool

from hookline.config import Settings, libpq_url
from hookline.ingress.accept import Delivery
from hookline.ingress.metrics import INBOX_INSERT_SECONDS
from hookline.models import EventStatus
from hookline.services import inbox
from hookline.workers.handlers import handler_for

log = structlog.get_logger(__name__)
CONNECT_TIMEOUT_SECONDS = 2
# Waiting longer than this for a free connection means the inbox is not keeping up: answer "retry".
CHECKOUT_TIMEOUT_SECONDS = 2.0


class InboxWriter:
    def __init__(self, settings: Settings) -> None:
        self.pool = AsyncConnectionPool(
            libpq_url(settings.database_url or ""), min_size=min(2, settings.ingress_db_pool_size),
            max_size=settings.ingress_db_pool_size, timeout=CHECKOUT_TIMEOUT_SECONDS, open=False,
            kwargs={"connect_timeout": CONNECT_TIMEOUT_SECONDS, "autocommit": True,
                    "options": settings.libpq_options()}, name="ingress-inbox",
        )

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
        stored = await self._store(delivery, status)
        INBOX_INSERT_SECONDS.observe(time.perf_counter() - started)
        return stored, handler.task if handler is not None and stored.created else None

    async def mark_published(self, tenant_id: int, event_ids: list[int]) -> None:
        """Stamp `published_at` on these rows of one tenant (the publisher, after a batch went out)."""
        async with self.pool.connection() as conn:
            await inbox.mark_published_now(conn, tenant_id, event_ids)

    async def _store(self, delivery: Delivery, status: EventStatus) -> inbox.Stored:
        for attempt in (1, 2):
            try:
                async with self.pool.connection() as conn:
                    return await inbox.store_now(
                        conn, delivery.tenant_id, provider=delivery.provider, event_type=delivery.event_type,
                        dedupe_key=delivery.dedupe_key, payload=delivery.payload, status=status,
                    )
            except psycopg.OperationalError as exc:
                if attempt == 2 or isinstance(exc, psycopg.errors.QueryCanceled):
                    raise
                # A restarted PostgreSQL leaves idle pooled connections dead: drop them, try once more.
                log.warning("ingress.inbox_connection_lost", error=repr(exc))
                await self.pool.check()
        raise AssertionError("unreachable")
