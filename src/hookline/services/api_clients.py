"""Ready-to-use API clients for a tenant: its connection, its stored credentials, the shared limiter."""

from __future__ import annotations

from functools import lru_cache

import redis
from sqlalchemy.orm import Session

from hookline.config import ConfigError, get_settings, redis_client_url
from hookline.db import global_session, tenant_session
from hookline.integrations.auth import HeaderAuth, StaticToken, TokenSet, TokenSource, TokenStore
from hookline.integrations.errors import AuthExpired, Permanent
from hookline.integrations.ghl import auth as ghl_auth
from hookline.integrations.ghl import client as ghl
from hookline.integrations.ghl.company import GHLCompanyClient
from hookline.integrations.idempotency import IdempotencyGuard
from hookline.integrations.ratelimit import RateLimiter
from hookline.integrations.reonic import client as reonic
from hookline.models import Connection
from hookline.redis_clients import sync_client
from hookline.services import tenants, tokens


@lru_cache(maxsize=1)
def shared_redis() -> redis.Redis:
    url = redis_client_url(get_settings())
    if url is None:
        raise ConfigError("API rate limits and token locks need Redis: set HOOKLINE_REDIS_URL")
    return sync_client(url)


@lru_cache(maxsize=1)
def shared_limiter() -> RateLimiter:
    return RateLimiter(shared_redis(), max_wait=get_settings().api_max_wait_seconds)


class Disconnected(Permanent):
    """The connection was uninstalled (or disabled): no API call, reconcile, push or scheduled run for it."""


def live_connection(session: Session, tenant_id: int, provider: str) -> Connection | None:
    """The tenant's connection to `provider` (None: it has none), or Disconnected when it is not active.

    The one gate: every API client (so every call, push and reconcile page) and every start of a
    reconciliation (beat's included, tasks/reconciling.start_sync) asks it first.
    """
    connection = tenants.tenant_connection(session, tenant_id, provider)
    if connection is not None and connection.status != tenants.ACTIVE:
        raise Disconnected(f"the {provider} connection of tenant {tenant_id} is {connection.status}")
    return connection


def _connection(tenant_id: int, provider: str) -> tuple[int, str, str]:
    """(connection id, account id, credential kind) of the tenant's connection to `provider`."""
    with global_session() as session:
        connection = live_connection(session, tenant_id, provider)
        if connection is None:
            raise AuthExpired(f"tenant {tenant_id} has no {provider} connection")
        connection_id, account = connection.id, connection.account_id
    with tenant_session(tenant_id) as session:
        row = tokens.find(session, tenant_id, connection_id)
        if row is None:
            raise AuthExpired(f"the {provider} connection of tenant {tenant_id} has no API credentials")
        return connection_id, account, row.kind


def ghl_token_source(tenant_id: int, connection_id: int, location_id: str, kind: str) -> TokenSource:
    store = tokens.DatabaseTokenStore(tenant_id, connection_id, kind)
    if kind == "private":
        return StaticToken(store, "private-integration token")
    if kind == MINTED:
        return minted_tokens(store, location_id)
    return ghl_auth.OAuthTokens(store, oauth_app(), shared_redis(),
                                f"hookline:t{tenant_id}:ghl:token-refresh:{location_id}")


def oauth_app() -> ghl_auth.OAuthApp:
    settings = get_settings()
    if not settings.ghl_client_id or not settings.ghl_client_secret:
        raise ConfigError("GoHighLevel OAuth needs HOOKLINE_GHL_CLIENT_ID and HOOKLINE_GHL_CLIENT_SECRET")
    return ghl_auth.make_oauth_app(settings.ghl_api_url, settings.ghl_client_id,
                                   settings.ghl_client_secret.get_secret_value())


# A location token minted from its agency's Company token (ghl_installs): no refresh token of its own.
MINTED = "minted"


def minted_tokens(store: TokenStore, location_id: str) -> ghl_auth.MintedTokens:
    """The location's token source; minting (first or again) is single-flight per location across processes."""
    from hookline.services import ghl_installs  # it builds its clients from here

    def mint() -> TokenSet:
        with global_session() as session:
            install_id = ghl_installs.install_of(session, location_id)
        return ghl_company_client(install_id).location_token(location_id)

    return ghl_auth.MintedTokens(store, mint, shared_redis(), f"hookline:ghl:location-mint:{location_id}")


def ghl_company_client(install_id: int) -> GHLCompanyClient:
    """An agency's client: its Company token (refreshed single-flight per company), its own rate limits."""
    from hookline.services import ghl_installs

    settings = get_settings()
    with global_session() as session:
        company_id = ghl_installs.company_of(session, install_id)
    source = ghl_auth.OAuthTokens(ghl_installs.CompanyTokenStore(install_id), oauth_app(), shared_redis(),
                                  f"hookline:ghl:company-token-refresh:{company_id}", user_type=ghl_auth.COMPANY)
    return ghl.make_client(base_url=settings.ghl_api_url, auth=HeaderAuth(source), limiter=shared_limiter(),
                           location_id=company_id, app_id=ghl_auth.app_id_of(settings.ghl_client_id) or "app",
                           client_class=GHLCompanyClient, burst_limit=settings.ghl_burst_limit,
                           burst_window=settings.ghl_burst_window_seconds, daily_limit=settings.ghl_daily_limit,
                           slack=settings.api_rate_slack_seconds)


def ghl_client(tenant_id: int) -> ghl.GHLClient:
    """The tenant's GoHighLevel location, authenticated (OAuth or private-integration token)."""
    settings = get_settings()
    connection_id, location_id, kind = _connection(tenant_id, "ghl")
    auth = HeaderAuth(ghl_token_source(tenant_id, connection_id, location_id, kind))
    return ghl.make_client(base_url=settings.ghl_api_url, auth=auth, limiter=shared_limiter(), location_id=location_id,
                           app_id=settings.ghl_client_id or "private", burst_limit=settings.ghl_burst_limit,
                           burst_window=settings.ghl_burst_window_seconds, daily_limit=settings.ghl_daily_limit,
                           slack=settings.api_rate_slack_seconds)


def reonic_client(tenant_id: int) -> reonic.ReonicClient:
    """The tenant's Reonic account (its `X-Authorization` API key), with the double-submit guard."""
    settings = get_settings()
    connection_id, account, kind = _connection(tenant_id, "reonic")
    source = StaticToken(tokens.DatabaseTokenStore(tenant_id, connection_id, kind), "Reonic API key")
    guard = IdempotencyGuard(shared_redis(), f"hookline:t{tenant_id}:reonic")
    return reonic.make_client(base_url=settings.reonic_api_url, auth=HeaderAuth(source, "X-Authorization", "{}"),
                              limiter=shared_limiter(), guard=guard, account=account,
                              cached_limit=settings.reonic_cached_limit, uncached_limit=settings.reonic_uncached_limit,
                              slack=settings.api_rate_slack_seconds)
