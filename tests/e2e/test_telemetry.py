"""Traces and error reports from real processes, received by loopback endpoints (tests/support/collectors.py).

A webhook posted to a real ingress (`hookline web`) and processed by a real Celery worker leaves
one trace: the caller's span → the ingress's request span → the worker's task span. A task that
fails for good reaches a Sentry ingest tagged with its tenant, with none of its secrets.
"""

from __future__ import annotations

import os
import secrets

import httpx
import pytest

from hookline.workers.app import app
from tests.e2e.conftest import celery_worker
from tests.support.collectors import Collector, SentryIngest
from tests.support.fake_ghl import serve
from tests.support.ingress import ingress
from tests.support.processes import wait_for
from tests.support.webhooks import encode, ghl_headers, payload
from tests.support.workers import celery_worker as worker_of

APPLY = "run/hookline.tasks.ghl_sync.apply_event"
# Spans leave a process in batches: every 100 ms here instead of every 5 s.
FAST_EXPORT = {"OTEL_BSP_SCHEDULE_DELAY": "100"}


@pytest.fixture(scope="module")
def collector():
    received = Collector()
    with serve(received.app()) as url:
        received.url = url
        yield received


@pytest.fixture(scope="module")
def sentry_ingest():
    received = SentryIngest()
    with serve(received.app()) as url:
        received.dsn = f"http://publickey0123@{url.removeprefix('http://')}/42"
        yield received


@pytest.fixture(scope="module")
def traced(database, redis_client, collector, sentry_ingest, tmp_path_factory):
    """A traced ingress and a traced worker (ghl_sync), both exporting to `collector` (and reporting to
    Sentry: the two on at once); yields the ingress URL."""
    env = {"HOOKLINE_OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "HOOKLINE_SENTRY_DSN": sentry_ingest.dsn,
           **FAST_EXPORT}
    logs = tmp_path_factory.mktemp("traced")
    with celery_worker(["ghl_sync"], logs / "worker.log", env=env), ingress(logs / "ingress.log", **env) as url:
        yield url


def one(collector, name, **attributes):
    found = [span for span in collector.named(name)
             if all(span.attributes.get(key) == value for key, value in attributes.items())]
    return found[0] if len(found) == 1 else None


def test_a_webhooks_task_span_is_a_child_of_the_ingress_request_span_in_the_callers_trace(traced, collector, tenant):
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    raw = encode(payload("ghl/ContactCreate.json"))

    answer = httpx.post(f"{traced}/webhooks/ghl", content=raw, timeout=10,
                        headers={**ghl_headers(raw), "traceparent": f"00-{trace_id}-{caller_span}-01"})

    assert answer.status_code == 202, answer.text
    request_id = answer.headers["x-request-id"]
    request = wait_for(lambda: one(collector, "POST /webhooks/ghl", **{"hookline.request_id": request_id}),
                       what="the ingress's request span")
    task = wait_for(lambda: one(collector, APPLY, **{"hookline.tenant_id": tenant.id}), what="the worker's task span")
    assert (request.service, task.service) == ("hookline-ingress", "hookline-worker")
    assert request.trace_id == task.trace_id == trace_id
    assert request.parent_span_id == caller_span
    assert task.parent_span_id == request.span_id
    assert (request.attributes["http.route"], request.attributes["http.response.status_code"]) == ("/webhooks/ghl", 202)


def test_without_a_callers_traceparent_the_request_starts_the_trace(traced, collector, tenant):
    raw = encode(payload("ghl/ContactCreate.json", contactId="ct-traced-02", id="evt-traced-02"))

    answer = httpx.post(f"{traced}/webhooks/ghl", content=raw, headers=ghl_headers(raw), timeout=10)

    request_id = answer.headers["x-request-id"]
    request = wait_for(lambda: one(collector, "POST /webhooks/ghl", **{"hookline.request_id": request_id}),
                       what="the ingress's request span")
    assert request.parent_span_id == ""
    wait_for(lambda: [span for span in collector.named(APPLY) if span.parent_span_id == request.span_id],
             what="the task span under it")


def test_a_span_is_named_by_its_route_and_never_carries_the_token_in_the_url(traced, collector):
    token = f"pay-{secrets.token_hex(12)}"

    answer = httpx.post(f"{traced}/webhooks/payments/{token}", content=b"{}", timeout=10,
                        headers={"content-type": "application/json"})

    request_id = answer.headers["x-request-id"]
    span = wait_for(lambda: one(collector, "POST /webhooks/payments/{connection_token}",
                                **{"hookline.request_id": request_id}), what="the payments request span")
    assert span.attributes["http.response.status_code"] == answer.status_code
    assert not any(token.encode() in body for body in collector.raw)


def test_health_probes_leave_no_spans(traced, collector):
    assert httpx.get(f"{traced}/healthz", timeout=5).status_code == 200
    raw = encode(payload("ghl/ContactCreate.json", contactId="ct-traced-03", id="evt-traced-03"))
    request_id = httpx.post(f"{traced}/webhooks/ghl", content=raw, headers=ghl_headers(raw),
                            timeout=10).headers["x-request-id"]

    wait_for(lambda: one(collector, "POST /webhooks/ghl", **{"hookline.request_id": request_id}), what="a later span")
    assert not [span for span in collector.spans if span.attributes.get("http.route") == "/healthz"
                or span.name.startswith("GET")]


@pytest.fixture(scope="module")
def sentry(database, redis_client, sentry_ingest, tmp_path_factory):
    """A worker (one process, so its reports arrive in order) reporting to the Sentry ingest."""
    env = {"HOOKLINE_SENTRY_DSN": sentry_ingest.dsn, "HOOKLINE_SENTRY_ENVIRONMENT": "test",
           "HOOKLINE_GHL_CLIENT_SECRET": "ghl-client-secret-e2e-42"}
    redis_client.delete("webhooks")
    with worker_of(tmp_path_factory.mktemp("sentry") / "worker.log", queues="webhooks",
                   app_module="tests.support.leaky_tasks", concurrency=1, **env):
        yield sentry_ingest


def test_a_task_failing_for_good_is_reported_with_its_tenant_and_without_its_secrets(sentry, tenant):
    from tests.support import leaky_tasks

    api_token, signing_secret = f"tok-{secrets.token_hex(10)}", f"whsec-{secrets.token_hex(10)}"
    sent = leaky_tasks.leaks_secrets_in_its_error.apply_async(kwargs={
        "tenant_id": tenant.id, "key": "contact-7", "api_token": api_token, "signing_secret": signing_secret})

    [event] = wait_for(lambda: sentry.errors("RejectedError"), what="the error report")

    assert event["project"] == "42" and event["environment"] == "test"
    assert (event["tags"]["tenant_id"], event["tags"]["task_id"]) == (str(tenant.id), sent.id)
    assert event["extra"]["celery-job"]["task_name"] == "tests.leaks_secrets_in_its_error"
    assert event["extra"]["celery-job"]["kwargs"]["api_token"] == "[Filtered]"
    assert event["exception"]["values"][-1]["value"] == (
        "provider refused [Filtered]: Authorization: [Filtered]; signed with [Filtered]; "
        "client secret [Filtered]; sealed with [Filtered]")
    envelope = b"".join(sentry.raw)
    for secret in (api_token, signing_secret, "ghl-client-secret-e2e-42", os.environ["HOOKLINE_SECRET_KEYS"]):
        assert secret.encode() not in envelope, secret
    frames = event["exception"]["values"][-1]["stacktrace"]["frames"]
    assert frames and not any("vars" in frame for frame in frames)  # no local variables at all


def test_a_retry_is_not_an_error_report(sentry, tenant):
    from tests.support import failing_tasks, leaky_tasks

    failing_tasks.unavailable_once.apply_async(kwargs={"tenant_id": tenant.id, "key": "retry-1"})
    wait_for(lambda: failing_tasks.runs(tenant.id, "retry-1") == 2, what="the retry to run")
    leaky_tasks.leaks_secrets_in_its_error.apply_async(kwargs={
        "tenant_id": tenant.id, "key": "after-the-retry", "api_token": "t", "signing_secret": "s"})

    wait_for(lambda: len(sentry.errors("RejectedError")) == 2, what="the later failure's report")
    assert sentry.errors("TransientError") == [] and sentry.errors("Retry") == []
    assert app.conf.task_default_queue == "webhooks"  # where the test tasks went, and the worker consumed


def test_an_error_logged_by_celery_is_reported_without_the_message_body_it_quotes(sentry, tenant):
    api_token = f"tok-{secrets.token_hex(10)}"

    # No worker knows this task: Celery logs an ERROR quoting the message body, and drops the message.
    app.send_task("tests.no_such_task", kwargs={"tenant_id": tenant.id, "api_token": api_token}, queue="webhooks")

    [event] = wait_for(lambda: [event for event in sentry.events
                                if event.get("logger") == "celery.worker.consumer.consumer"], what="the logged error")
    assert "Received unregistered task of type 'tests.no_such_task'" in event["logentry"]["formatted"]
    assert '"api_token": "[Filtered]"' in event["logentry"]["formatted"]
    assert api_token.encode() not in b"".join(sentry.raw)
