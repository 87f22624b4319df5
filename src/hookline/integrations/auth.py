"""Credentials as httpx sees them: a token source per connection, and an httpx.Auth that uses it.

The database stays out of `integrations/`: a `TokenStore` (services/tokens.py) loads and saves
one connection's tokens; the sources here decide when to refresh and what a refused token means.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from hookline.integrations.errors import AuthExpired

EXPIRY_MARGIN = 300.0  # refresh this long before the access token's stated expiry


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None  # unix seconds; None: does not expire (private tokens, API keys)
    scope: str | None = None

    def expiring(self, *, now: float | None = None, margin: float = EXPIRY_MARGIN) -> bool:
        return self.expires_at is not None and (time.time() if now is None else now) + margin >= self.expires_at


class TokenStore(Protocol):
    """One connection's stored credentials. `save` is durable (committed) when it returns."""

    def load(self) -> TokenSet:
        """The current tokens; raises AuthExpired when the connection needs to be reconnected."""

    def save(self, tokens: TokenSet) -> None: ...

    def mark_needs_reauth(self, reason: str) -> None: ...


class TokenSource(Protocol):
    def current(self) -> str: ...

    def refresh(self, stale: str) -> str:
        """A token other than `stale`, or raise AuthExpired."""


class StaticToken:
    """A token that never refreshes (a GoHighLevel private-integration token, a Reonic API key).

    Refused once, it stays refused: the connection is marked `needs_reauth` at once.
    """

    def __init__(self, store: TokenStore, what: str) -> None:
        self.store, self.what = store, what

    def current(self) -> str:
        return self.store.load().access_token

    def refresh(self, stale: str) -> str:
        self.store.mark_needs_reauth(f"{self.what} refused")
        raise AuthExpired(f"the {self.what} was refused; reconnect the account")


class HeaderAuth(httpx.Auth):
    """Puts the source's token in a header; on a 401 asks the source once for another and resends."""

    def __init__(self, source: TokenSource, header: str = "Authorization", template: str = "Bearer {}") -> None:
        self.source, self.header, self.template = source, header, template

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.source.current()
        request.headers[self.header] = self.template.format(token)
        response = yield request
        if response.status_code == 401:
            request.headers[self.header] = self.template.format(self.source.refresh(token))
            yield request
