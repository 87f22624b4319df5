"""An agency install's steps run as task bodies here: resumed after lost messages, minted once, refreshed once."""

from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import select

from hookline.db import global_session
from hookline.integrations.auth import TokenSet
from hookline.models import GhlInstall, GhlInstallLocation, Tenant
from hookline.secrets_box import unseal
from hookline.services import api_clients, ghl_app_events, ghl_connect, ghl_installs
from hookline.tasks.ghl_sync import apply_app_event, connect_location, list_installed, resume_installs
from tests.support.cli import hookline
from tests.support.fake_ghl import FakeGHL
from tests.support.sync import pointed_at
from tests.support.webhooks import shared

COMPANY = "company-tasks"


@pytest.fixture()
def agency(clean_tables, monkeypatch, redis_client):
    """The fake with an agency of 5 locations, this process pointed at it, the Company token stored."""
    fake = FakeGHL(client_id="app1-x", refresh_delay=0.3)
    fake.install_agency(COMPANY, 5)
    with pointed_at(fake, monkeypatch, redis_client, GHL_CLIENT_ID=fake.client_id,
                    GHL_CLIENT_SECRET=fake.client_secret, GHL_INSTALL_PAGE_LIMIT="2"):
        access, refresh = fake.issue(COMPANY)
        with global_session() as session:
            install_id = ghl_installs.record_company(session, COMPANY, TokenSet(access, refresh, time.time() + 3600))
        redis_client.delete("ghl_sync")
        yield fake, install_id
        redis_client.delete("ghl_sync")


def queued(redis_client) -> list[tuple[str, dict]]:
    messages = [json.loads(raw) for raw in redis_client.lrange("ghl_sync", 0, -1)]
    return [(m["headers"]["task"], m["headers"]["kwargsrepr"]) for m in messages]


def states() -> dict[str, str]:
    with global_session() as session:
        return dict(session.execute(select(GhlInstallLocation.location_id, GhlInstallLocation.state)).all())


def test_lost_steps_are_sent_again_and_a_connected_location_is_not_minted_twice(agency, redis_client):
    fake, install_id = agency
    list_installed(install_id=install_id)  # page 1 of 3: two locations pending
    redis_client.delete("ghl_sync")  # the worker died with every message it held

    assert resume_installs(stale_after=0) == 3  # the listing and both pending locations
    sent = queued(redis_client)
    assert sorted(task.rsplit(".", 1)[1] for task, _ in sent) == ["connect_location", "connect_location",
                                                                   "list_installed"]

    list_installed(install_id=install_id)
    list_installed(install_id=install_id)
    assert list_installed(install_id=install_id) == 0  # listed: nothing more
    for location in fake.agencies[COMPANY]:
        connect_location(install_id=install_id, location_id=location)
        connect_location(install_id=install_id, location_id=location)  # a duplicate message

    assert set(states().values()) == {"connected"}
    assert dict(fake.minted) == {location: 1 for location in fake.agencies[COMPANY]}
    with global_session() as session:
        assert session.scalar(select(GhlInstall.status)) == "listed"
        assert sorted(session.scalars(select(Tenant.name))) == [f"Branch {n:03d}" for n in range(5)]
    shown = hookline("ghl", "installs")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[1].split()[:7] == ["1", COMPANY, "listed", "5", "0", "5", "0"]


def together(call, count: int = 4) -> tuple[list, list]:
    """`call()` in `count` threads at once: (results, exceptions)."""
    results, errors = [], []

    def run() -> None:
        try:
            results.append(call())
        except Exception as exc:  # noqa: BLE001 - recorded: the caller asserts there are none
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results, errors


def test_many_processes_connecting_one_location_mint_once(agency):
    fake, install_id = agency
    list_installed(install_id=install_id)
    location = fake.agencies[COMPANY][0]

    results, errors = together(lambda: ghl_connect.connect_agency_location(install_id, location))

    assert errors == []
    assert fake.minted[location] == 1
    assert sum(result is not None for result in results) == 1


def test_an_expired_company_token_is_refreshed_once_for_many_callers(agency):
    fake, install_id = agency
    access, refresh = fake.issue(COMPANY, expires_in=-1)  # already expired
    with global_session() as session:
        ghl_installs.record_company(session, COMPANY, TokenSet(access, refresh, time.time() - 1))

    pages, errors = together(lambda: api_clients.ghl_company_client(install_id).installed_locations(limit=1))

    assert errors == [] and len(pages) == 4
    assert fake.refreshes == 1
    store = ghl_installs.CompanyTokenStore(install_id)
    assert store.load().access_token != access
    with global_session() as session:
        assert unseal(session.scalar(select(GhlInstall.refresh_token))) in fake.refresh  # the rotated one, stored


def test_an_install_event_for_a_new_location_of_the_agency_connects_it(agency, redis_client):
    fake, install_id = agency
    [added] = fake.install_agency(COMPANY, 1, prefix="later")
    payload = shared("ghl_AppInstall_location_non_whitelabeled.json") | {"locationId": added, "companyId": COMPANY,
                                                                          "appId": "app1"}
    with global_session() as session:
        event_id, status, _ = ghl_app_events.store(session, "install-later", payload, "app1")
    assert status == "pending"

    apply_app_event(app_event_id=event_id)

    [(task, kwargs)] = queued(redis_client)
    assert task == "hookline.tasks.ghl_sync.connect_location" and added in kwargs
    tenant_id = connect_location(install_id=install_id, location_id=added)
    assert states() == {added: "connected"}
    with global_session() as session:
        assert session.get(Tenant, tenant_id).name == "Branch 005"
