"""A guard against double submits for APIs whose writes take no idempotency key (Reonic).

Before the POST a record `pending` is set with SET NX under the caller's key; after it the
answer is stored there. The same key again returns the stored answer without a request; while
`pending` (another worker is on it, or a try ended without an answer) it is refused as
Transient until `pending_ttl` runs out. An answer that proves nothing was created (4xx)
deletes the record, so a corrected call can go through.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import redis

from hookline.integrations.errors import Permanent, Transient

PENDING = b"pending"


class IdempotencyGuard:
    def __init__(self, client: redis.Redis, namespace: str, *, pending_ttl: int = 600, done_ttl: int = 30 * 86_400) -> None:
        self.client, self.namespace = client, namespace
        self.pending_ttl, self.done_ttl = pending_ttl, done_ttl

    def key(self, idempotency_key: str) -> str:
        if not idempotency_key or len(idempotency_key) > 200:
            raise ValueError("an idempotency key of 1 to 200 characters is required")
        return f"{self.namespace}:idem:{idempotency_key}"

    def run(self, idempotency_key: str, submit: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """`submit()` at most once per key (while the record lives); a repeat gets the first answer."""
        key = self.key(idempotency_key)
        if not self.client.set(key, PENDING, nx=True, ex=self.pending_ttl):
            stored = self.client.get(key)
            if stored is not None and stored != PENDING:
                return json.loads(stored)
            wait = max(1, self.client.ttl(key))
            raise Transient(f"a submit with this idempotency key is in flight or unresolved; retry in {wait} s",
                            retry_after=float(wait))
        try:
            answer = submit()
        except Permanent:
            self.client.delete(key)  # refused: nothing was created
            raise
        # Any other failure (timeout, 5xx) may or may not have created it: the record stays
        # pending, so no second POST goes out until pending_ttl has passed.
        self.client.set(key, json.dumps(answer), ex=self.done_ttl)
        return answer
