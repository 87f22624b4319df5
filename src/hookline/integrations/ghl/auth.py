"""GoHighLevel OAuth 2.0 per location: the token endpoint, and refresh-token rotation under a Redis lock.

Every refresh returns a new refresh token and (by third-party accounts) voids the old one, so
two processes refreshing at once would leave one of them, and maybe the store, with a dead
token. Only the holder of the location's lock refreshes; it stores the new pair (committed)
before anyone uses it; the others wait for the lock, find a newer token stored, and use that.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import httpx
import redis
import structlog
from redis.exceptions import LockError

from hookline.integrations.auth import TokenSet, TokenStore
from hookline.integrations.errors import AuthExpired, Permanent, RateLimited, Transient
from hookline.integrations.http import TIMEOUT, retry_after

log = structlog.get_logger(__name__)

# OAuth's `user_type`: a sub-account (location) token, or an agency's (Company) one.
LOCATION, COMPANY = "Location", "Company"


class WrongTokenType(Permanent):
    """GoHighLevel issued a token of the other user type (a Company token where a location's belongs)."""


def require_user_type(details: dict[str, Any], expected: str, *, location_id: str | None = None) -> None:
    """Refuse an OAuth answer whose `userType` (or `locationId`) is not what the caller is about to store."""
    given = details.get("userType") or (LOCATION if details.get("locationId") else None)
    if given != expected:
        raise WrongTokenType(f"GoHighLevel issued a {given or 'untyped'} token where a {expected} token belongs")
    if location_id is not None and details.get("locationId") != location_id:
        raise WrongTokenType(f"the token is for location {details.get('locationId')!r}, not {location_id!r}")


class OAuthApp:
    """The Marketplace app's side of `POST /oauth/token` (form-encoded, no Version header)."""

    def __init__(self, http: httpx.Client, client_id: str, client_secret: str) -> None:
        self._http, self.client_id, self._client_secret = http, client_id, client_secret

    def refresh(self, refresh_token: str, user_type: str = LOCATION) -> TokenSet:
        return self._token({"grant_type": "refresh_token", "refresh_token": refresh_token, "user_type": user_type})

    def exchange_code(self, code: str, redirect_uri: str | None = None,
                      user_type: str = LOCATION) -> tuple[TokenSet, dict[str, Any]]:
        """An authorization code (the install redirect's) → tokens, and the body (userType, locationId, companyId…)."""
        fields = {"grant_type": "authorization_code", "code": code, "user_type": user_type}
        if redirect_uri:
            fields["redirect_uri"] = redirect_uri
        body: dict[str, Any] = {}
        return self._token(fields, into=body), body

    def _token(self, fields: dict[str, str], into: dict[str, Any] | None = None) -> TokenSet:
        data = {"client_id": self.client_id, "client_secret": self._client_secret, **fields}
        try:
            response = self._http.post("/oauth/token", data=data, headers={"Accept": "application/json"})
        except httpx.TransportError as exc:
            raise Transient(f"GHL POST /oauth/token: {type(exc).__name__}") from exc
        if response.status_code == 429:
            raise RateLimited("GHL POST /oauth/token: 429", retry_after=retry_after(response) or 10.0)
        if response.status_code >= 500:
            raise Transient(f"GHL POST /oauth/token: {response.status_code}", retry_after=retry_after(response))
        body = _json(response)
        if response.is_error:
            # invalid_grant: the refresh token (or code) is revoked, used or expired. Never log its value.
            if body.get("error") == "invalid_grant" or response.status_code == 401:
                raise AuthExpired(f"GHL refused the grant ({body.get('error', response.status_code)})")
            raise Permanent(f"GHL POST /oauth/token: {response.status_code} {body.get('error', '')}".rstrip())
        if not body.get("access_token") or not body.get("refresh_token"):
            raise Transient("GHL POST /oauth/token: no tokens in the answer")
        if into is not None:
            into.update({key: value for key, value in body.items() if key not in ("access_token", "refresh_token")})
        expires_in = float(body.get("expires_in") or 86399)
        return TokenSet(body["access_token"], body["refresh_token"], time.time() + expires_in, body.get("scope"))


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def make_oauth_app(base_url: str, client_id: str, client_secret: str) -> OAuthApp:
    return OAuthApp(httpx.Client(base_url=base_url, timeout=TIMEOUT), client_id, client_secret)


@contextmanager
def single_flight(client: redis.Redis, key: str, timeout: float = 60.0, wait: float = 30.0) -> Iterator[None]:
    """One holder of `key` at a time across processes (a Redis lock): a token's refresh, or a mint."""
    # The lock outlives the token call (its timeout is well above the HTTP timeout), so it is
    # never released under a refresh that is still running.
    lock = client.lock(key, timeout=timeout, blocking_timeout=wait)
    if not lock.acquire():
        raise Transient("another process is still refreshing this token", retry_after=5.0)
    try:
        yield
    finally:
        try:
            lock.release()
        except LockError:  # expired under us; the next refresher takes over
            log.warning("ghl.oauth.lock_expired", lock=key)


class OAuthTokens:
    """A location's OAuth access token, refreshed by one process at a time (a Redis lock per location).

    `lock_key` is tenant-namespaced, e.g. `hookline:t42:ghl:token-refresh:<locationId>`.
    """

    def __init__(self, store: TokenStore, app: OAuthApp, client: redis.Redis, lock_key: str, *,
                 lock_timeout: float = 60.0, wait_timeout: float = 30.0, user_type: str = LOCATION) -> None:
        self.store, self.app, self.redis, self.lock_key = store, app, client, lock_key
        self.lock_timeout, self.wait_timeout, self.user_type = lock_timeout, wait_timeout, user_type

    def current(self) -> str:
        tokens = self.store.load()
        if tokens.expiring():
            return self.refresh(tokens.access_token)
        return tokens.access_token

    def refresh(self, stale: str) -> str:
        """A fresh access token: someone else's if they refreshed since `stale` was read, else our own."""
        with self.locked():
            tokens = self.store.load()
            if tokens.access_token != stale and not tokens.expiring():
                return tokens.access_token  # refreshed by another process while we waited
            fresh = self.renew(tokens)
            self.store.save(fresh)  # durable before first use: the old refresh token is now dead
            log.info("ghl.oauth.refreshed", lock=self.lock_key)
            return fresh.access_token

    def locked(self) -> AbstractContextManager[None]:
        return single_flight(self.redis, self.lock_key, self.lock_timeout, self.wait_timeout)

    def renew(self, tokens: TokenSet) -> TokenSet:
        """New tokens for the stored ones (called under the lock): the refresh-token grant."""
        if not tokens.refresh_token:
            self.store.mark_needs_reauth("no refresh token stored")
            raise AuthExpired("no refresh token stored; reconnect the location")
        try:
            return self.app.refresh(tokens.refresh_token, self.user_type)
        except AuthExpired:
            self.store.mark_needs_reauth("refresh token refused (invalid_grant)")
            log.error("ghl.oauth.needs_reauth", lock=self.lock_key)
            raise


class MintedTokens(OAuthTokens):
    """A location token minted from the agency's Company token (it has no refresh token of its own):
    minted again when it expires, by one process at a time (the same lock as the first mint)."""

    def __init__(self, store: TokenStore, mint: Callable[[], TokenSet], client: redis.Redis, lock_key: str,
                 **options: Any) -> None:
        super().__init__(store, None, client, lock_key, **options)  # type: ignore[arg-type]  # no app: minted
        self.mint = mint

    def renew(self, tokens: TokenSet) -> TokenSet:
        return self.mint()

    def ensure(self) -> str:
        """The stored token if it is fresh, else one minted now: a location's first mint, once across processes."""
        with self.locked():
            try:
                tokens = self.store.load()
            except AuthExpired:  # none stored yet
                tokens = None
            if tokens is not None and not tokens.expiring():
                return tokens.access_token
            fresh = self.mint()
            self.store.save(fresh)
            log.info("ghl.oauth.minted", lock=self.lock_key)
            return fresh.access_token


def app_id_of(client_id: str | None) -> str | None:
    """The Marketplace app's id: its OAuth client id up to the first '-' (what INSTALL webhooks carry as `appId`)."""
    return client_id.split("-", 1)[0] if client_id else None
