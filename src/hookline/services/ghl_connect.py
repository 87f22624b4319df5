"""Connecting GoHighLevel through the Marketplace: the install link's `state`, the OAuth callback's
work, an agency's listing and each of its locations' first token (services/ghl_installs.py stores)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import structlog

from hookline.config import ConfigError, get_settings
from hookline.db import global_session
from hookline.integrations.auth import HeaderAuth, StaticToken, TokenSet
from hookline.integrations.errors import AuthExpired
from hookline.integrations.ghl import auth as ghl_auth
from hookline.integrations.ghl import client as ghl
from hookline.integrations.ghl import resources as r
from hookline.secrets_box import SecretBoxError, seal, unseal_fresh
from hookline.services import api_clients, ghl_installs
from hookline.services.ghl_installs import Connected, InstallError

log = structlog.get_logger(__name__)


# -- the install link's state: sealed (so signed) under HOOKLINE_SECRET_KEYS, short-lived, single use --


@dataclass(frozen=True)
class InstallState:
    nonce: str  # the callback spends it once (ingress/oauth_callback.py)
    user_type: str  # Location or Company: the token the callback asks for
    tenant_id: int | None = None  # attach the location to this tenant


def make_state(*, user_type: str = ghl_auth.LOCATION, tenant_id: int | None = None) -> str:
    return seal(json.dumps({"n": secrets.token_hex(16), "u": user_type, "t": tenant_id}))


def open_state(raw: str) -> InstallState:
    """The state a link of ours carried, or InstallError when it is forged, altered or too old."""
    try:
        fields = json.loads(unseal_fresh(raw, get_settings().ghl_install_state_seconds))
        state = InstallState(str(fields["n"]), str(fields["u"]), fields.get("t"))
    except (SecretBoxError, ValueError, KeyError, TypeError):
        raise InstallError("the install link's state is forged or expired: open a new link "
                           "(`hookline ghl install-url`); nothing stored") from None
    if state.user_type not in (ghl_auth.LOCATION, ghl_auth.COMPANY):
        raise InstallError("the install link's state names no token type; nothing stored")
    return state


def install_url(state: str) -> str:
    """The Marketplace's chooselocation page for our app, carrying `state`."""
    settings = get_settings()
    if not settings.ghl_client_id or not settings.ghl_redirect_url:
        raise ConfigError("an install link needs HOOKLINE_GHL_CLIENT_ID and HOOKLINE_GHL_REDIRECT_URL")
    query = {"response_type": "code", "redirect_uri": settings.ghl_redirect_url, "client_id": settings.ghl_client_id,
             "scope": settings.ghl_scopes, "state": state}
    return f"{settings.ghl_marketplace_url.rstrip('/')}/v2/oauth/chooselocation?{urlencode(query)}"


# -- the callback --


@dataclass(frozen=True)
class Agency:
    install_id: int
    company_id: str


def complete(code: str, state: InstallState) -> Connected | Agency:
    """Exchange the code for the token type the link asked for; a location is connected now, an
    agency's Company token is stored for the listing tasks (the caller publishes them)."""
    settings = get_settings()
    try:
        fresh, details = api_clients.oauth_app().exchange_code(code, settings.ghl_redirect_url, state.user_type)
    except AuthExpired:
        raise InstallError("GoHighLevel refused the authorization code: it was used already or has expired; "
                           "nothing stored") from None
    try:
        ghl_auth.require_user_type(details, state.user_type)
    except ghl_auth.WrongTokenType as exc:
        raise InstallError(f"{exc}; nothing stored") from None
    if state.user_type == ghl_auth.COMPANY:
        company_id = str(details.get("companyId") or "")
        if not company_id:
            raise InstallError("GoHighLevel's Company token names no companyId; nothing stored")
        with global_session() as session:
            install_id = ghl_installs.record_company(session, company_id, fresh)
        log.info("ghl.install.agency", install_id=install_id)
        return Agency(install_id, company_id)
    location_id = str(details.get("locationId") or "")
    if not location_id:
        raise InstallError("GoHighLevel's location token names no locationId; nothing stored")
    return ghl_installs.attach(fetch_location(location_id, fresh), fresh, "oauth", tenant_id=state.tenant_id)


def fetch_location(location_id: str, fresh: TokenSet) -> r.Location:
    """`GET /locations/{id}` with a token not stored yet, within the location's rate limits."""
    settings = get_settings()
    held = _Held(fresh)
    client = ghl.make_client(base_url=settings.ghl_api_url, auth=HeaderAuth(StaticToken(held, "location token")),
                             limiter=api_clients.shared_limiter(), location_id=location_id,
                             app_id=settings.ghl_client_id or "private", burst_limit=settings.ghl_burst_limit,
                             burst_window=settings.ghl_burst_window_seconds, daily_limit=settings.ghl_daily_limit,
                             slack=settings.api_rate_slack_seconds)
    return client.get_location()


class _Held:
    """A TokenStore of one token in memory: the location's, before it has a row to live in."""

    def __init__(self, tokens: TokenSet) -> None:
        self.tokens = tokens

    def load(self) -> TokenSet:
        return self.tokens

    def save(self, tokens: TokenSet) -> None:
        self.tokens = tokens

    def mark_needs_reauth(self, reason: str) -> None:
        raise AuthExpired(reason)


# -- an agency's locations --


def list_next_page(install_id: int) -> tuple[list[str], bool]:
    """One page of the agency's installed locations recorded as pending: (their ids, more to read)."""
    limit = get_settings().ghl_install_page_limit
    client = api_clients.ghl_company_client(install_id)
    with global_session() as session:
        row = ghl_installs.claim_listing(session, install_id)
        if row is None:  # listed already, uninstalled, or another task holds it
            return [], False
        page = client.installed_locations(skip=row.skip, limit=limit)
        pending = ghl_installs.record_page(session, row, page, limit)
        more = row.status == ghl_installs.LISTING
    log.info("ghl.install.page", install_id=install_id, locations=len(page.locations), more=more)
    return pending, more


def connect_agency_location(install_id: int, location_id: str) -> Connected | None:
    """Mint the location's token from the Company token and connect it; once across processes (the
    mint's lock), and not again once connected. None: nothing was left to do."""
    lock = f"hookline:ghl:location-mint:{location_id}"
    with ghl_auth.single_flight(api_clients.shared_redis(), lock):
        with global_session() as session:
            if ghl_installs.location_state(session, location_id) != ghl_installs.PENDING:
                return None
        fresh = api_clients.ghl_company_client(install_id).location_token(location_id)
        return ghl_installs.attach(fetch_location(location_id, fresh), fresh, api_clients.MINTED)
