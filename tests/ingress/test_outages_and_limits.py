"""What the ingress answers when PostgreSQL or the broker is gone, its rate limit, and its operator endpoints.

Each test here runs its own ingress process, pointed through a TCP proxy that the test cuts,
or at a broker nothing listens on.
"""

from __future__ import annotations

import concurrent.futures
import re
import threading
from pathlib import Path

import httpx
import pytest

from hookline.ingress.app import create_app
from tests.conftest import APP_ROLE, DATABASE, PG_HOST, _admin
from tests.ingress.conftest import events, log_lines, settled
from tests.support.ingress import ingress
from tests.support.tcpproxy import TcpProxy
from tests.support.webhooks import (
    encode,
    ghl_headers,
    now_iso,
    payload,
    reonic_headers,
    shared,
    stripe_headers,
    zoom_headers,
)

ROOT = Path(__file__).resolve().parents[2]


def ghl(body):
    raw = encode(body)
    return {"url": "/webhooks/ghl", "content": raw, "headers": ghl_headers(raw)}


def one_of_each(accounts, tenant_slug: str, n: int = 1) -> dict[str, dict]:
    """A signed delivery per route, for the tenant whose `accounts` sign them."""
    reonic_raw = encode(shared("reonic_contact_created.json"))
    zoom_body = shared("zoom_recording.completed.json")
    zoom_body["payload"]["account_id"] = accounts.zoom_account
    zoom_raw = encode(zoom_body)
    payment_raw = encode(payload("payments/invoice.paid.json"))
    return {
        "ghl": ghl(payload("ghl/ContactCreate.json", webhookId=f"wh-outage-{n}")),
        "reonic": {"url": "/webhooks/reonic", "content": reonic_raw,
                   "headers": reonic_headers(reonic_raw, secret=accounts.reonic_secret,
                                             client_id=accounts.reonic_client, event_id=f"evt-outage-{n}")},
        "zoom": {"url": "/webhooks/zoom", "content": zoom_raw,
                 "headers": zoom_headers(zoom_raw, secret=accounts.zoom_secret)},
        "forms": {"url": f"/webhooks/forms/{tenant_slug}", "content": b'{"name": "Outage Olli"}',
                  "headers": {"content-type": "application/json", "x-api-key": accounts.forms_key}},
        "payments": {"url": f"/webhooks/payments/{accounts.payments_token}", "content": payment_raw,
                     "headers": stripe_headers(payment_raw, secret=accounts.payments_secret)},
    }


@pytest.fixture(scope="module")
def database_proxy(database):
    host, port = PG_HOST.rsplit(":", 1)
    proxy = TcpProxy(host, int(port)).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def ingress_via_proxy(database_proxy, tmp_path_factory):
    url = f"postgresql://{APP_ROLE}@127.0.0.1:{database_proxy.port}/{DATABASE}"
    with ingress(tmp_path_factory.mktemp("ingress") / "proxied.log", HOOKLINE_DATABASE_URL=url) as base_url:
        with httpx.Client(base_url=base_url, timeout=10) as client:
            yield client


def test_with_the_database_down_each_sender_is_told_to_retry_and_nothing_is_acknowledged(
        ingress_via_proxy, database_proxy, tenant, sunny):
    client = ingress_via_proxy
    deliveries = one_of_each(sunny, tenant.slug)

    database_proxy.stop()
    try:
        down = {name: client.post(**delivery) for name, delivery in deliveries.items()}
        ready = client.get("/readyz")
    finally:
        database_proxy.start()
    up = {name: client.post(**delivery) for name, delivery in deliveries.items()}

    # GoHighLevel retries only on 429; the others on 503 with Retry-After.
    assert {name: r.status_code for name, r in down.items()} == {
        "ghl": 429, "reonic": 503, "zoom": 503, "forms": 503, "payments": 503}
    assert all(r.json()["error"]["code"] == "temporarily_unavailable" for r in down.values())
    assert down["ghl"].headers["retry-after"] == "600"
    assert all(int(r.headers["retry-after"]) > 0 for r in down.values())
    assert (ready.status_code, ready.json()["database"]) == (503, "down")
    # Once it is back, every retry is stored, exactly once per delivery.
    assert {name: r.status_code for name, r in up.items()} == dict.fromkeys(deliveries, 202)
    assert sorted(event.provider for event in events(tenant.id)) == ["forms", "ghl", "payments", "reonic", "zoom"]


def test_a_ghl_retry_of_a_delivery_we_refused_is_accepted_with_its_first_timestamp(
        ingress_via_proxy, database_proxy, tenant):
    client = ingress_via_proxy
    twelve_minutes_ago = now_iso(-720)
    refused = payload("ghl/ContactCreate.json", webhookId="wh-retried", timestamp=now_iso())
    retried = {**refused, "timestamp": twelve_minutes_ago}  # GHL's retry may keep the first attempt's timestamp
    replayed = payload("ghl/ContactCreate.json", webhookId="wh-never-refused", timestamp=twelve_minutes_ago)

    database_proxy.stop()
    try:
        first = client.post(**ghl(refused))
    finally:
        database_proxy.start()
    retry = client.post(**ghl(retried))
    replay = client.post(**ghl(replayed))

    assert first.status_code == 429
    assert retry.status_code == 202
    assert (replay.status_code, replay.json()["error"]["code"]) == (401, "invalid_signature")
    assert [event.dedupe_key for event in events(tenant.id)] == ["wh-retried"]


@pytest.fixture(scope="module")
def ingress_without_broker(database, tmp_path_factory):
    with ingress(tmp_path_factory.mktemp("ingress") / "no-broker.log", HOOKLINE_BROKER_URL="redis://127.0.0.1:1/0",
                 HOOKLINE_REDIS_URL="redis://127.0.0.1:6379/13") as base_url:
        with httpx.Client(base_url=base_url, timeout=10) as client:
            yield client


def test_with_the_broker_down_events_are_still_acknowledged_and_counted_for_the_relay(ingress_without_broker, tenant):
    client = ingress_without_broker

    response = client.post(**ghl(payload("ghl/ContactCreate.json")))
    settled(client)
    ready = client.get("/readyz")
    metrics = client.get("/metrics").text

    assert response.status_code == 202
    [event] = events(tenant.id)
    assert (event.status, event.published_at) == ("pending", None)
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "database": "ok", "broker": "down"}
    assert 'hookline_ingress_publish_failures_total{provider="ghl"} 1.0' in metrics


def test_readyz_metrics_and_openapi_on_a_healthy_ingress(client, tenant):
    client.post(**ghl(payload("ghl/ContactCreate.json")))

    ready = client.get("/readyz")
    metrics = client.get("/metrics")
    spec = client.get("/openapi.json").json()

    assert (ready.status_code, ready.json()) == (200, {"status": "ok", "database": "ok", "broker": "ok"})
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'hookline_ingress_requests_total{route="/webhooks/ghl",status="202"}' in metrics.text
    assert "hookline_ingress_inbox_insert_seconds_count" in metrics.text
    served = {route.path for route in create_app().routes}
    assert set(spec["paths"]) == served
    for path in ("/webhooks/ghl", "/webhooks/reonic", "/webhooks/zoom", "/webhooks/forms/{tenant_slug}",
                 "/webhooks/payments/{connection_token}"):
        operation = spec["paths"][path]["post"]
        assert {"202", "200", "400", "401", "404", "413", "415", "429", "503"} <= set(operation["responses"])
        assert operation["requestBody"]["content"]


def test_concurrent_deliveries_of_one_event_make_one_row_and_one_task(client, tenant, queue):
    delivery = ghl(payload("ghl/ContactCreate.json", webhookId="wh-concurrent"))
    start = threading.Barrier(12)

    def deliver(_):
        start.wait()
        return client.post(**delivery)

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(deliver, range(12)))

    assert sorted(r.status_code for r in responses) == [200] * 11 + [202]
    assert len({r.json()["event_id"] for r in responses}) == 1
    assert len(events(tenant.id)) == 1
    assert len(queue()) == 1


@pytest.fixture(scope="module")
def two_limited_ingresses(database, redis_client, tmp_path_factory):
    """Two ingress processes sharing one limit of 4 requests per tenant per hour, through Redis."""
    for key in redis_client.scan_iter("hookline:ratelimit:*"):
        redis_client.delete(key)
    env = {"HOOKLINE_TENANT_RATE_LIMIT": "4", "HOOKLINE_TENANT_RATE_WINDOW_SECONDS": "3600"}
    logs = tmp_path_factory.mktemp("ingress")
    with ingress(logs / "a.log", **env) as a, ingress(logs / "b.log", **env) as b:
        with httpx.Client(base_url=a, timeout=10) as client_a, httpx.Client(base_url=b, timeout=10) as client_b:
            yield client_a, client_b


def test_the_tenant_rate_limit_holds_across_ingress_processes(two_limited_ingresses, redis_client, tenant, other_tenant):
    for key in redis_client.scan_iter("hookline:ratelimit:*"):
        redis_client.delete(key)
    client_a, client_b = two_limited_ingresses
    bodies = [payload("ghl/ContactCreate.json", webhookId=f"wh-limit-{n}", id=f"ct-{n}") for n in range(5)]

    answers = [(client_a if n % 2 else client_b).post(**ghl(body)) for n, body in enumerate(bodies)]
    other = client_a.post(**ghl(payload("ghl/ContactCreate.json", locationId="loc-callcentre-002")))

    assert [r.status_code for r in answers] == [202, 202, 202, 202, 429]
    assert answers[-1].json()["error"]["code"] == "rate_limited"
    assert 0 < int(answers[-1].headers["retry-after"]) <= 3600
    assert len(events(tenant.id)) == 4
    assert other.status_code == 202  # one tenant's flood does not use up another's allowance


def test_with_redis_unreachable_the_rate_limit_lets_webhooks_through(database, tmp_path_factory, tenant):
    # The limit protects the platform; refusing real work because a counter is missing would lose it.
    with ingress(tmp_path_factory.mktemp("ingress") / "no-redis.log", HOOKLINE_REDIS_URL="redis://127.0.0.1:1/0",
                 HOOKLINE_TENANT_RATE_LIMIT="1") as base_url:
        with httpx.Client(base_url=base_url, timeout=10) as client:
            answers = [client.post(**ghl(payload("ghl/ContactCreate.json", webhookId=f"wh-noredis-{n}")))
                       for n in range(3)]

    assert [r.status_code for r in answers] == [202, 202, 202]
    assert len(events(tenant.id)) == 3


@pytest.fixture()
def refused_by_the_database():
    """A trigger that makes PostgreSQL refuse one inbox row (webhookId `wh-refused`): an error nothing expects."""
    _admin("CREATE FUNCTION test_refuse_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
           " IF NEW.dedupe_key = 'wh-refused' THEN RAISE EXCEPTION 'refused by a test trigger'; END IF;"
           " RETURN NEW; END $$;"
           " CREATE TRIGGER test_refuse_row BEFORE INSERT ON webhook_events"
           " FOR EACH ROW EXECUTE FUNCTION test_refuse_row()", dbname=DATABASE)
    yield
    _admin("DROP TRIGGER test_refuse_row ON webhook_events; DROP FUNCTION test_refuse_row()", dbname=DATABASE)


def alert_expression(name: str) -> str:
    rules = (ROOT / "deploy/prometheus/alerts.yml").read_text()
    return re.search(rf"- alert: {name}\n\s+expr: (.+)", rules).group(1)


def test_an_unexpected_error_is_a_json_500_counted_where_the_alert_looks(client, tenant, ingress_log,
                                                                         refused_by_the_database):
    def count() -> float:
        found = re.search(r'hookline_ingress_requests_total\{route="/webhooks/ghl",status="500"\} (\S+)',
                          client.get("/metrics").text)
        return float(found.group(1)) if found else 0.0

    before = count()
    response = client.post(**ghl(payload("ghl/ContactCreate.json", webhookId="wh-refused")))
    after = client.post(**ghl(payload("ghl/ContactCreate.json", webhookId="wh-fine")))

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert count() == before + 1
    assert after.status_code == 202  # the process carries on
    [logged] = [line for line in log_lines(ingress_log, "ingress.unexpected_error")
                if line["request_id"] == response.headers["x-request-id"]]
    assert "refused by a test trigger" in logged["exception"]
    # The page-level alert counts exactly these: its metric, its status pattern.
    expression = alert_expression("HooklineIngressErrors")
    metric, pattern = re.search(r'(hookline_[a-z_]+)\{status=~"([^"]+)"\}', expression).groups()
    assert metric == "hookline_ingress_requests_total" and re.fullmatch(pattern, "500")
