"""How a delivery finds its tenant: the provider's account id (or URL token) → an active connection."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import structlog
from starlette.concurrency import run_in_threadpool

from hookline.db import global_session
from hookline.ingress.errors import WebhookRejected
from hookline.secrets_box import SecretBoxError
from hookline.services.tenants import connection_secrets, find_connection

log = structlog.get_logger(__name__)

# The name, in `connections.secrets`, of the secret an HMAC-signing sender shares with us.
WEBHOOK_SECRET = "webhook_secret"
# Forms: the SHA-256 of the tenant's API key; the key itself is shown once and never stored.
FORM_KEY_HASH = "api_key_sha256"
# The last part of a remembered connection's life in which it is looked up again in the background.
REFRESH_AHEAD = 0.2


@dataclass(frozen=True)
class Resolved:
    connection_id: int
    tenant_id: int
    secrets: dict[str, Any] = field(repr=False)  # never printed, never logged

    def secret(self, name: str, provider: str) -> str:
        """The named secret, or 401: a connection with no secret accepts nothing (fail closed)."""
        value = self.secrets.get(name)
        if not isinstance(value, str) or not value:
            log.error("webhook.secret_not_configured", provider=provider, connection_id=self.connection_id,
                      tenant_id=self.tenant_id, secret=name)
            raise WebhookRejected(401, "secret_not_configured",
                                  f"this {provider} connection has no {name} configured; nothing is accepted")
        return value


def _lookup(provider: str, account_id: str) -> Resolved | None:
    with global_session() as session:
        connection = find_connection(session, provider, account_id)
        if connection is None:
            return None
        try:  # decrypted once here; the cache below keeps the plaintext in this process's memory only
            secrets = connection_secrets(connection)
        except SecretBoxError:
            log.error("webhook.secret_unreadable", provider=provider, connection_id=connection.id,
                      tenant_id=connection.tenant_id)
            raise WebhookRejected(503, "secret_unreadable", f"this {provider} connection's secrets cannot be read "
                                  "(HOOKLINE_SECRET_KEYS); try again later") from None
        return Resolved(connection.id, connection.tenant_id, secrets)


class ConnectionDirectory:
    """Resolves connections, remembering each found one for `ttl` seconds (0: ask PostgreSQL every time).

    On the hot path this saves a query per webhook. The price: a changed secret or a disabled
    connection takes effect up to `ttl` seconds later in each ingress process. Unknown ids are
    never remembered, so a connection just added works at once.

    In the last REFRESH_AHEAD of its life a remembered connection is looked up again in the
    background while requests go on using it: under steady traffic no request waits for a lookup.
    (When it simply expired, every request of that tenant in flight waited for the query, run in
    a thread that also contended for the GIL: a stall of several ms every `ttl` seconds.)
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._found: dict[tuple[str, str], tuple[float, Resolved]] = {}
        self._looking: dict[tuple[str, str], asyncio.Future[Resolved | None]] = {}

    def _lookup_once(self, key: tuple[str, str]) -> asyncio.Future[Resolved | None]:
        """One lookup per key at a time: when a remembered connection expires under load, every
        request in flight for it missed at once, and each ran its own query in a thread."""
        looking = self._looking.get(key)
        if looking is None:
            looking = self._looking[key] = asyncio.ensure_future(run_in_threadpool(_lookup, *key))
            looking.add_done_callback(lambda _: self._looking.pop(key, None))
        return looking

    def _remember(self, key: tuple[str, str], resolved: Resolved | None, since: float) -> None:
        if resolved is None:
            self._found.pop(key, None)
        elif self.ttl > 0:
            if len(self._found) > 10_000:  # bounded: forget everything rather than grow without limit
                self._found.clear()
            self._found[key] = (since + self.ttl, resolved)

    def _refresh(self, key: tuple[str, str]) -> None:
        started = time.monotonic()

        def refreshed(looking: asyncio.Future[Resolved | None]) -> None:
            if looking.cancelled():
                return
            if looking.exception() is not None:  # the lookup at expiry, in a request, will answer for it
                log.warning("ingress.connection_refresh_failed", provider=key[0], error=repr(looking.exception()))
                return
            self._remember(key, looking.result(), started)

        self._lookup_once(key).add_done_callback(refreshed)

    async def resolve(self, provider: str, account_id: str, *, what: str) -> Resolved:
        """The active connection for `account_id`, or 404 naming `what` the sender identified itself by."""
        if not account_id or len(account_id) > 200:
            raise WebhookRejected(404, "unknown_tenant", f"no tenant is connected to this {what}")
        key, now = (provider, account_id), time.monotonic()
        cached = self._found.get(key)
        if cached is not None and cached[0] > now:
            if cached[0] - now < self.ttl * REFRESH_AHEAD and key not in self._looking:
                self._refresh(key)
            return cached[1]
        # A request that goes away does not cancel the others' lookup.
        resolved = await asyncio.shield(self._lookup_once(key))
        self._remember(key, resolved, now)
        if resolved is None:
            log.warning("webhook.unknown_tenant", provider=provider, what=what)
            raise WebhookRejected(404, "unknown_tenant", f"no tenant is connected to this {what}")
        return resolved
