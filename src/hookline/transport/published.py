"""The records of which inbox events were published: bits in a Redis broker, `published_at` in the inbox.

On a Redis broker the ingress records a publish as one bit per event id, in the broker.

The ingress's publisher sets an event's bit in the same MULTI/EXEC as its message's LPUSH, so a
bit is set exactly when the message went in, and a Redis that loses its lists (a restart without
persistence, a flush) loses the bits with them. That record replaces a `published_at` stamp in
PostgreSQL on the hot path: the stamp was an UPDATE of every row, over a quarter of
PostgreSQL's CPU per webhook, while a worker takes most events within a second. The relay
(`maintenance.relay_unpublished`) reads the bits of the few rows still pending and never
stamped after its threshold: a set bit means published (the relay stamps `published_at` and
publishes nothing), a clear one means never published (the relay publishes).

A bit counts only for an event no worker has run yet (`attempts = 0`): a replay or a dead-letter
replay sets an event back to pending with `published_at` NULL, and its old bit says nothing
about the new publish. Bits live in bitmaps of BLOCK ids (128 KiB each), which expire TTL_SECONDS
after their last write; a row still pending and unstamped after that is published again, which
its handler takes as a duplicate (`inbox.take` hands a pending row out once).

Everywhere else (the relay, the sweeper, a replay, the ingress on another broker) a publish is
recorded as the row's `published_at` (`mark_published`, `mark_published_now`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import redis
from sqlalchemy import func, update
from sqlalchemy.orm import Session

from hookline.db import require_tenant
from hookline.models import WebhookEvent

if TYPE_CHECKING:
    from psycopg import AsyncConnection

BLOCK = 1 << 20  # event ids per bitmap
TTL_SECONDS = 2 * 24 * 3600
KEY = "hookline:published:{}"


def _blocks(event_ids: Iterable[int]) -> dict[str, list[int]]:
    blocks: dict[str, list[int]] = defaultdict(list)
    for event_id in event_ids:
        blocks[KEY.format(event_id // BLOCK)].append(event_id)
    return blocks


def _fields(operation: str, ids: list[int], *value: int) -> list[Any]:
    """BITFIELD's arguments for one operation on each id's bit: GET u1 <offset>, or SET u1 <offset> 1."""
    return [field for event_id in ids for field in (operation, "u1", event_id % BLOCK, *value)]


def mark(pipe: Any, event_ids: Iterable[int]) -> None:
    """Queue the commands that set these events' bits on a (sync or asyncio) Redis pipeline."""
    for key, ids in _blocks(event_ids).items():
        pipe.execute_command("BITFIELD", key, *_fields("SET", ids, 1))
        pipe.expire(key, TTL_SECONDS)


def marked(client: redis.Redis, event_ids: Iterable[int]) -> set[int]:
    """The events among `event_ids` whose bit is set: one pipelined round trip."""
    blocks = _blocks(event_ids)
    if not blocks:
        return set()
    with client.pipeline(transaction=False) as pipe:
        for key, ids in blocks.items():
            pipe.execute_command("BITFIELD_RO", key, *_fields("GET", ids))
        answers = pipe.execute()
    return {event_id for ids, bits in zip(blocks.values(), answers, strict=True)
            for event_id, bit in zip(ids, bits, strict=True) if bit}


# One statement (migration 0018): each row by primary key, under the tenant. Its commit does not
# wait for the WAL flush: a stamp lost in a crash only means the relay publishes that event
# again, which its handler takes as a duplicate (`take` hands a pending row out once).
_MARK_PUBLISHED = "SELECT set_config('synchronous_commit', 'off', true), hookline_mark_published(%s::bigint, %s::bigint[])"


async def mark_published_now(conn: AsyncConnection, tenant_id: int, event_ids: list[int]) -> None:
    """`mark_published` (never `again`) as one autocommitted statement on an async connection."""
    await conn.execute(_MARK_PUBLISHED, (require_tenant(tenant_id), event_ids))


def mark_published(session: Session, tenant_id: int, *event_ids: int, again: bool = False) -> None:
    """Stamp `published_at` on rows never published, or (`again`: the sweeper) on every one of them."""
    statement = update(WebhookEvent).where(WebhookEvent.tenant_id == tenant_id, WebhookEvent.id.in_(event_ids))
    if not again:
        statement = statement.where(WebhookEvent.published_at.is_(None))
    session.execute(
        statement.values(published_at=func.now()),
        # No ORM bookkeeping: the publisher stamps batches and holds none of these rows in a session.
        execution_options={"synchronize_session": False},
    )
