"""OAuth per location: one refresh for many callers, rotation stored first, revoked → needs_reauth, ciphertext at rest."""

from __future__ import annotations

import time

import psycopg
import pytest
from sqlalchemy import select

from hookline.db import global_session, tenant_session
from hookline.integrations.auth import HeaderAuth, TokenSet
from hookline.integrations.errors import AuthExpired
from hookline.integrations.ghl import auth as ghl_auth
from hookline.integrations.ghl import client as ghl
from hookline.models import Connection, ConnectionToken
from hookline.secrets_box import unseal
from hookline.services import tokens
from tests.conftest import ADMIN_URL, DATABASE
from tests.integrations.ghl.conftest import run_workers

LOCATION = "loc-sunny-001"


def ghl_connection(tenant) -> int:
    with global_session() as session:
        return session.scalars(select(Connection.id).where(Connection.tenant_id == tenant.id,
                                                           Connection.provider == "ghl")).one()


def store_tokens(tenant, connection_id: int, access: str, refresh: str, *, expires_in: float) -> None:
    with tenant_session(tenant.id) as session:
        tokens.store(session, tenant.id, connection_id, "oauth", TokenSet(access, refresh, time.time() + expires_in))


def stored(tenant, connection_id: int) -> ConnectionToken:
    with tenant_session(tenant.id) as session:
        return tokens.find(session, tenant.id, connection_id)


@pytest.fixture()
def location_client(tenant, fake, fake_url, limiter, redis_client):
    """A client built the way services.api_clients builds one, against the fake server."""
    connection_id = ghl_connection(tenant)
    store = tokens.DatabaseTokenStore(tenant.id, connection_id, "oauth")
    app = ghl_auth.make_oauth_app(fake_url, fake.client_id, fake.client_secret)
    source = ghl_auth.OAuthTokens(store, app, redis_client, f"hookline:t{tenant.id}:ghl:token-refresh:{LOCATION}")
    fake.add_contacts(LOCATION, 1)
    client = ghl.make_client(base_url=fake_url, auth=HeaderAuth(source), limiter=limiter, location_id=LOCATION,
                             app_id=fake.client_id)
    return client, connection_id


def test_an_expiring_token_is_refreshed_and_the_rotated_pair_stored_encrypted(tenant, fake, location_client):
    client, connection_id = location_client
    access, refresh = fake.issue(LOCATION)
    store_tokens(tenant, connection_id, access, refresh, expires_in=60)  # inside the 5-minute margin

    assert client.get_contact("c1").id == "c1"

    row = stored(tenant, connection_id)
    assert fake.refreshes == 1
    assert unseal(row.refresh_token) in fake.refresh  # the new refresh token, the one the server knows
    assert refresh in fake.used_refresh
    assert unseal(row.access_token) != access


def test_a_401_refreshes_once_and_resends(tenant, fake, location_client):
    client, connection_id = location_client
    access, refresh = fake.issue(LOCATION, expires_in=-1)  # the server already expired it
    store_tokens(tenant, connection_id, access, refresh, expires_in=3600)  # we think it is good

    assert client.get_contact("c1").id == "c1"
    assert fake.refreshes == 1


def test_a_revoked_refresh_token_marks_needs_reauth_and_nothing_is_tried_again(tenant, fake, location_client):
    client, connection_id = location_client
    access, refresh = fake.issue(LOCATION, expires_in=-1)
    store_tokens(tenant, connection_id, access, refresh, expires_in=-1)
    fake.revoke(refresh)

    with pytest.raises(AuthExpired):
        client.get_contact("c1")
    with pytest.raises(AuthExpired):
        client.get_contact("c1")

    assert stored(tenant, connection_id).status == "needs_reauth"
    assert fake.refreshes == 1  # the second call never reached the token endpoint
    assert fake.accepted[LOCATION] == []  # nor the API
    with global_session() as session:  # webhooks keep arriving: the connection itself stays active
        assert session.get(Connection, connection_id).status == "active"


def test_tokens_are_not_stored_in_plaintext(tenant, fake):
    connection_id = ghl_connection(tenant)
    access, refresh = fake.issue(LOCATION)
    store_tokens(tenant, connection_id, access, refresh, expires_in=3600)

    with psycopg.connect(ADMIN_URL, dbname=DATABASE) as conn:
        raw = conn.execute("SELECT access_token, refresh_token FROM connection_tokens").fetchall()

    assert len(raw) == 1
    for column in raw[0]:
        assert access not in column and refresh not in column
        assert column.startswith("gAAAAA")  # a Fernet token
    assert unseal(raw[0][0]) == access


def test_four_processes_with_an_expired_token_make_exactly_one_refresh(tenant, fake, fake_url):
    fake.refresh_delay = 1.0  # a refresh in flight while the others arrive
    fake.add_contacts(LOCATION, 1)
    connection_id = ghl_connection(tenant)
    access, refresh = fake.issue(LOCATION, expires_in=-1)
    store_tokens(tenant, connection_id, access, refresh, expires_in=-1)
    env = {"HOOKLINE_GHL_API_URL": fake_url, "HOOKLINE_GHL_CLIENT_ID": fake.client_id,
           "HOOKLINE_GHL_CLIENT_SECRET": fake.client_secret}

    start_at = str(time.time() + 4)
    results = run_workers([["tenant", str(tenant.id), "2", start_at]] * 4, env)

    assert [result["errors"] for result in results] == [[]] * 4
    assert sum(result["ok"] for result in results) == 8
    assert fake.refreshes == 1
    assert unseal(stored(tenant, connection_id).refresh_token) in fake.refresh
