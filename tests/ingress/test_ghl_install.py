"""The Marketplace install callback and the app-level webhooks, on a real ingress talking to the fake GoHighLevel."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlparse

import httpx
import psycopg
import pytest
from sqlalchemy import func, select

from hookline.db import global_session, tenant_session
from hookline.integrations.ghl.auth import COMPANY, LOCATION
from hookline.models import Connection, ConnectionToken, GhlAppEvent, GhlInstall, SyncRun, Tenant
from hookline.services import api_clients, ghl_connect
from hookline.services.tenants import add_tenant
from hookline.tasks.ghl_sync import apply_app_event
from hookline.tasks.reconciling import start_sync
from tests.conftest import ADMIN_URL, DATABASE
from tests.support.cli import hookline
from tests.support.fake_ghl import FakeGHL, serve
from tests.support.ingress import ingress
from tests.support.webhooks import encode, ghl_headers, shared

CLIENT_ID = "ve9EPM428h8vShlRW1KT-lmw2x1"  # the app id of the documented INSTALL samples, before the '-'
REDIRECT = "https://hookline.example/oauth/ghl/callback"
LOCATION_ID = "loc-new-001"


@pytest.fixture(scope="module")
def fake() -> FakeGHL:
    return FakeGHL(client_id=CLIENT_ID, limit=1000)


@pytest.fixture(scope="module")
def env(fake) -> dict[str, str]:
    with serve(fake.app()) as url:
        yield {"HOOKLINE_GHL_API_URL": url, "HOOKLINE_GHL_CLIENT_ID": CLIENT_ID,
               "HOOKLINE_GHL_CLIENT_SECRET": fake.client_secret, "HOOKLINE_GHL_REDIRECT_URL": REDIRECT}


@pytest.fixture(scope="module")
def client(database, env, tmp_path_factory):
    with ingress(tmp_path_factory.mktemp("ingress") / "ingress.log", HOOKLINE_CONNECTION_CACHE_SECONDS="0",
                 **env) as url, httpx.Client(base_url=url, timeout=10) as http:
        yield http


@pytest.fixture()
def configured(env, monkeypatch):
    """This process's settings as the ingress's (the state is sealed with the same keys)."""
    from hookline.config import get_settings

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def callback(client: httpx.Client, code: str, state: str) -> httpx.Response:
    return client.get("/oauth/ghl/callback", params={"code": code, "state": state})


def stored_counts() -> tuple[int, int, int]:
    """(tenants, connections, installs) as the admin would count them: nothing hidden by row-level security."""
    with global_session() as session:
        return (session.scalar(select(func.count()).select_from(Tenant)),
                session.scalar(select(func.count()).select_from(Connection)),
                session.scalar(select(func.count()).select_from(GhlInstall)))


def test_a_location_install_becomes_a_connected_tenant_with_its_first_backfill(clean_tables, client, fake,
                                                                              configured, redis_client):
    fake.locations[LOCATION_ID] = {"name": "Sunny Roofs Austin", "timezone": "America/Chicago", "companyId": "c-9"}
    redis_client.delete("ghl_sync")
    code = fake.issue_code(LOCATION_ID)

    answer = callback(client, code, ghl_connect.make_state())

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert "Sunny Roofs Austin" in answer.text and "sunny-roofs-austin" in answer.text
    with global_session() as session:
        tenant = session.scalars(select(Tenant)).one()
    assert (tenant.name, tenant.slug, tenant.timezone) == ("Sunny Roofs Austin", "sunny-roofs-austin",
                                                           "America/Chicago")
    with tenant_session(tenant.id) as session:
        token = session.scalars(select(ConnectionToken)).one()
        runs = session.scalars(select(SyncRun).where(SyncRun.tenant_id == tenant.id)).all()
    assert (token.kind, token.status) == ("oauth", "active") and token.refresh_token
    assert sorted((run.resource, run.state, run.full) for run in runs) == [
        ("appointments", "running", True), ("contacts", "running", True), ("opportunities", "running", True)]
    queued = [json.loads(raw)["headers"]["task"] for raw in redis_client.lrange("ghl_sync", 0, -1)]
    assert queued.count("hookline.tasks.ghl_sync.reconcile") == 3


def test_a_state_naming_a_tenant_attaches_the_location_to_it(clean_tables, client, fake, configured):
    with global_session() as session:
        tenant = add_tenant(session, "Existing Customer", timezone="Europe/Berlin")
    code = fake.issue_code("loc-attach-002")

    answer = callback(client, code, ghl_connect.make_state(tenant_id=tenant.id))

    assert answer.status_code == 200, answer.text
    with global_session() as session:
        [(tenant_id, name, account)] = session.execute(
            select(Tenant.id, Tenant.name, Connection.account_id)
            .join(Connection, Connection.tenant_id == Tenant.id)).all()
    assert (tenant_id, name, account) == (tenant.id, "Existing Customer", "loc-attach-002")


def test_a_forged_state_is_refused_and_stores_nothing(clean_tables, client, fake, configured):
    code = fake.issue_code("loc-forged-003")
    genuine = ghl_connect.make_state()
    forged = genuine[:-6] + ("AAAAAA" if not genuine.endswith("AAAAAA") else "BBBBBB")

    answers = [callback(client, code, forged), callback(client, code, "not-a-state")]

    assert [a.status_code for a in answers] == [400, 400]
    assert "forged or expired" in answers[0].text
    assert stored_counts() == (0, 0, 0)
    assert code in fake.codes  # never sent to GoHighLevel


def test_an_expired_state_is_refused(clean_tables, client, fake, configured, monkeypatch):
    from cryptography.fernet import MultiFernet

    from hookline.config import get_settings
    from hookline.secrets_box import parse_keys

    box = MultiFernet(parse_keys(get_settings().secret_keys.get_secret_value()))
    sealed_an_hour_ago = int(time.time()) - 3600
    old = box.encrypt_at_time(json.dumps({"n": "n1", "u": LOCATION, "t": None}).encode(), sealed_an_hour_ago).decode()

    answer = callback(client, fake.issue_code("loc-old-004"), old)

    assert answer.status_code == 400 and "forged or expired" in answer.text
    assert stored_counts() == (0, 0, 0)


def test_a_replayed_callback_and_a_replayed_code_are_refused(clean_tables, client, fake, configured):
    code, state = fake.issue_code("loc-replay-005"), ghl_connect.make_state()
    assert callback(client, code, state).status_code == 200
    before = stored_counts()

    same_again = callback(client, code, state)
    code_again = callback(client, code, ghl_connect.make_state())

    assert same_again.status_code == 400 and "used already" in same_again.text
    assert code_again.status_code == 400 and "refused the authorization code" in code_again.text
    assert stored_counts() == before == (1, 1, 0)


def test_a_company_token_where_a_location_token_belongs_stores_nothing(clean_tables, client, fake, configured):
    code = fake.issue_code("company-wrong-006", user_type=COMPANY)

    answer = callback(client, code, ghl_connect.make_state(user_type=LOCATION))

    assert answer.status_code == 400
    assert "Company token where a Location token belongs" in answer.text
    assert stored_counts() == (0, 0, 0)


def test_the_fake_refuses_a_company_token_on_a_location_route_and_we_say_so(fake, env):
    access, _ = fake.issue("company-x")
    fake.companies.add("company-x")

    answer = httpx.get(f"{env['HOOKLINE_GHL_API_URL']}/locations/loc-1",
                       headers={"Authorization": f"Bearer {access}", "Version": "2021-07-28"})

    assert answer.status_code == 401 and "authClass Company" in answer.text


def test_an_agency_install_stores_the_company_token_and_queues_the_listing(clean_tables, client, fake, configured,
                                                                          redis_client):
    redis_client.delete("ghl_sync")
    code = fake.issue_code("company-007", user_type=COMPANY)

    answer = callback(client, code, ghl_connect.make_state(user_type=COMPANY))

    assert answer.status_code == 200 and "hookline ghl installs" in answer.text
    with global_session() as session:
        install = session.scalars(select(GhlInstall)).one()
    assert (install.company_id, install.status, install.skip) == ("company-007", "listing", 0)
    assert install.access_token and not install.access_token.startswith("at-")  # sealed, not the token
    [message] = [json.loads(raw) for raw in redis_client.lrange("ghl_sync", 0, -1)]
    assert message["headers"]["task"] == "hookline.tasks.ghl_sync.list_installed"


def test_install_url_prints_a_link_whose_state_the_callback_accepts(clean_tables, env, configured):
    done = hookline("ghl", "install-url", env=env)

    assert done.returncode == 0, done.stderr
    link = urlparse(done.stdout.strip())
    query = parse_qs(link.query)
    assert (link.netloc, link.path) == ("marketplace.gohighlevel.com", "/v2/oauth/chooselocation")
    assert query["client_id"] == [CLIENT_ID] and query["redirect_uri"] == [REDIRECT]
    assert ghl_connect.open_state(query["state"][0]).user_type == LOCATION
    assert hookline("ghl", "install-url", "--tenant", "nobody", env=env).returncode == 1


def post_app_event(client: httpx.Client, payload: dict) -> httpx.Response:
    body = encode(payload)
    return client.post("/webhooks/ghl", content=body, headers=ghl_headers(body, "ed25519"))


def test_an_uninstall_stops_every_call_keeps_the_data_and_purge_deletes_it(clean_tables, client, fake, configured):
    assert callback(client, fake.issue_code(LOCATION_ID), ghl_connect.make_state()).status_code == 200
    with global_session() as session:
        tenant = session.scalars(select(Tenant)).one()

    answer = post_app_event(client, shared("ghl_AppUninstall_location.json") | {"locationId": LOCATION_ID})
    assert answer.status_code == 202, answer.text
    apply_app_event(app_event_id=answer.json()["event_id"])

    with global_session() as session:
        assert session.scalar(select(Connection.status)) == "uninstalled"
    with tenant_session(tenant.id) as session:
        assert session.scalars(select(ConnectionToken)).all() == []
        assert {run.state for run in session.scalars(select(SyncRun))} == {"failed"}  # the running backfill stopped
    with pytest.raises(api_clients.Disconnected):
        api_clients.ghl_client(tenant.id)
    assert start_sync(tenant.id, "ghl", "contacts") == "disconnected"
    assert stored_counts()[0] == 1  # the data stays until an operator purges it

    assert hookline("tenants", "purge", tenant.slug).returncode != 0  # not without --yes
    done = hookline("tenants", "purge", tenant.slug, "--yes")
    assert done.returncode == 0, done.stderr
    assert stored_counts()[:2] == (0, 0)
    with psycopg.connect(ADMIN_URL, dbname=DATABASE) as admin:  # past row-level security: every tenant's rows
        assert admin.execute("SELECT count(*) FROM sync_runs").fetchone() == (0,)


def test_an_install_event_of_another_app_is_stored_as_ignored(clean_tables, client, configured):
    payload = shared("ghl_AppInstall_location_whitelabeled.json") | {"appId": "someone-elses-app"}

    answer = post_app_event(client, payload)

    assert answer.status_code == 202 and answer.json()["status"] == "ignored"
    with global_session() as session:
        stored = session.scalars(select(GhlAppEvent)).one()
    assert (stored.status, stored.location_id) == ("ignored", "otg8dTQqGLh3Q6iQI55w")
    assert post_app_event(client, payload).status_code == 200  # the same body again: a duplicate


def test_an_agency_install_event_names_no_tenant_and_is_stored(clean_tables, client, configured):
    answer = post_app_event(client, shared("ghl_AppInstall_agency.json"))

    assert answer.status_code == 202 and answer.json()["status"] == "pending"
    apply_app_event(app_event_id=answer.json()["event_id"])
    with global_session() as session:
        assert session.scalar(select(GhlAppEvent.status)) == "processed"


def test_a_reinstall_reconnects_the_tenant_the_location_had(clean_tables, client, fake, configured):
    assert callback(client, fake.issue_code(LOCATION_ID), ghl_connect.make_state()).status_code == 200
    answer = post_app_event(client, shared("ghl_AppUninstall_location.json") | {"locationId": LOCATION_ID})
    apply_app_event(app_event_id=answer.json()["event_id"])

    again = callback(client, fake.issue_code(LOCATION_ID), ghl_connect.make_state())

    assert again.status_code == 200, again.text
    assert stored_counts() == (1, 1, 0)
    with global_session() as session:
        tenant_id, status = session.execute(select(Connection.tenant_id, Connection.status)).one()
    assert status == "active"
    assert api_clients.ghl_client(tenant_id).get_location().id == LOCATION_ID
