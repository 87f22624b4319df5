"""An ingress process per test module, reached over real HTTP, plus its tenants' connections."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from hookline.db import global_session, tenant_session
from hookline.models import Tenant, WebhookEvent
from hookline.services.tenants import add_connection
from tests.support.ingress import ingress
from tests.support.processes import wait_for


@pytest.fixture(scope="module")
def ingress_log(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ingress") / "ingress.log"


@pytest.fixture(scope="module")
def ingress_url(database, ingress_log) -> str:
    # A limit no test here reaches; the limit itself has its own ingresses (test_limits_and_outages.py).
    # No connection cache: tests change keys and secrets between requests.
    with ingress(ingress_log, HOOKLINE_TENANT_RATE_LIMIT="1000000", HOOKLINE_CONNECTION_CACHE_SECONDS="0") as url:
        yield url


def log_lines(log: Path, event: str) -> list[dict]:
    """The ingress's JSON log lines whose event is `event`."""
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == event]


@pytest.fixture(scope="module")
def client(ingress_url) -> httpx.Client:
    with httpx.Client(base_url=ingress_url, timeout=10) as client:
        yield client


@pytest.fixture()
def queue(redis_client, client):
    """The ghl_sync queue's messages (a Redis list), emptied first; read once the publisher has drained."""
    redis_client.delete("ghl_sync")

    def messages() -> list[dict]:
        settled(client)
        return [json.loads(raw) for raw in redis_client.lrange("ghl_sync", 0, -1)]

    return messages


def settled(client: httpx.Client) -> None:
    """Wait until the ingress has published (or given up on) every event it committed so far."""
    wait_for(lambda: "hookline_ingress_publish_pending 0.0" in client.get("/metrics").text, timeout=15,
             what="the ingress's publisher to drain")


def events(tenant_id: int) -> list[WebhookEvent]:
    with tenant_session(tenant_id) as session:
        return list(session.scalars(select(WebhookEvent).where(WebhookEvent.tenant_id == tenant_id)
                                    .order_by(WebhookEvent.id)))


def count_all_events(tenant_ids) -> int:
    return sum(len(events(tenant_id)) for tenant_id in tenant_ids)


@dataclass(frozen=True)
class Accounts:
    """One tenant's connections, with the secrets its senders sign with."""

    tenant_id: int
    reonic_client: str
    reonic_secret: str
    zoom_account: str
    zoom_secret: str
    payments_token: str
    payments_secret: str
    forms_key: str


def connect(tenant_id: int, name: str) -> Accounts:
    accounts = Accounts(tenant_id, f"reonic-{name}", f"whsec_reonic_{name}", f"zoom-{name}", f"zoom_token_{name}",
                        f"paytok_{name}_0123456789abcdef", f"whsec_pay_{name}", f"hlf_key_{name}")
    with global_session() as session:
        add_connection(session, tenant_id, "reonic", accounts.reonic_client,
                       secrets={"webhook_secret": accounts.reonic_secret})
        add_connection(session, tenant_id, "zoom", accounts.zoom_account, secrets={"webhook_secret": accounts.zoom_secret})
        add_connection(session, tenant_id, "payments", accounts.payments_token,
                       secrets={"webhook_secret": accounts.payments_secret})
        add_connection(session, tenant_id, "forms", session.get(Tenant, tenant_id).slug,
                       secrets={"api_key_sha256": hashlib.sha256(accounts.forms_key.encode()).hexdigest()})
    return accounts


@pytest.fixture()
def sunny(tenant) -> Accounts:
    return connect(tenant.id, "sunny")


@pytest.fixture()
def callcentre(other_tenant) -> Accounts:
    return connect(other_tenant.id, "callcentre")
