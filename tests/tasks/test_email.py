"""The send task on real PostgreSQL and Redis: once per key, permanent vs transient, limits, bounces.

`send.apply` runs the task as a worker would, retries included (eagerly, without the countdown);
calling `send(...)` directly stops at the first retry (celery.exceptions.Retry), to look at it.
"""

import threading
from datetime import datetime, timezone

import httpx
import pytest
from celery.exceptions import Retry

from hookline.db import global_session, tenant_session
from hookline.models import Tenant
from hookline.services import messaging
from hookline.services.tenants import set_sender
from hookline.tasks.email import send

API = "https://api.postmarkapp.test"
POSTMARK = {"email_transport": "postmark", "postmark_server_token": "pm-token", "postmark_api_url": API}
DUNNING = {"name": "Ana", "step": 2, "invoice_number": "INV-7", "amount": "EUR 120.00", "due_date": "2026-11-01"}


def enqueue(tenant_id, key="dunning:inv-7:2", context=DUNNING, template="dunning_reminder", to="ana@example.com"):
    with tenant_session(tenant_id) as session:
        return messaging.enqueue(session, tenant_id, template=template, recipient=to, context=context,
                                 idempotency_key=key).id


def row(tenant_id, message_id):
    with tenant_session(tenant_id) as session:
        return messaging.get(session, tenant_id, message_id)


def mails(tmp_path):
    return sorted((tmp_path / "mail").glob("*.eml")) if (tmp_path / "mail").exists() else []


def test_a_message_is_sent_once_when_its_task_runs_twice(tenant, email_settings, tmp_path):
    message_id = enqueue(tenant.id)

    first = send.apply(kwargs={"tenant_id": tenant.id, "message_id": message_id}).get()
    second = send.apply(kwargs={"tenant_id": tenant.id, "message_id": message_id}).get()

    assert (first, second) == ("sent", None)
    [eml] = mails(tmp_path)
    sent = row(tenant.id, message_id)
    assert (sent.status, sent.attempts, sent.provider_message_id) == ("sent", 1, eml.name)
    assert sent.sent_at is not None and sent.last_error is None
    assert "Reminder 2: invoice INV-7 is overdue" in eml.read_text()


def test_a_message_is_sent_once_when_its_task_runs_twice_at_the_same_time(tenant, email_settings, tmp_path):
    message_id = enqueue(tenant.id)
    start = threading.Barrier(6)
    outcomes = []

    def run():
        start.wait()
        outcomes.append(send.apply(kwargs={"tenant_id": tenant.id, "message_id": message_id}).get())

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes, key=str) == [None] * 5 + ["sent"]
    assert len(mails(tmp_path)) == 1
    assert row(tenant.id, message_id).attempts == 1


def test_the_tenants_sender_name_and_reply_to_are_used(tenant, email_settings, tmp_path):
    email_settings(email_from_address="notifications@hookline.test")
    with global_session() as session:
        set_sender(session, session.get(Tenant, tenant.id), name="Sunny Solar Billing", reply_to="billing@sunny.example")
    message_id = enqueue(tenant.id)

    send.apply(kwargs={"tenant_id": tenant.id, "message_id": message_id})

    text = mails(tmp_path)[0].read_text()
    assert "From: Sunny Solar Billing <notifications@hookline.test>" in text
    assert "Reply-To: billing@sunny.example" in text
    assert f"Message-ID: <hookline.{tenant.id}.{message_id}@hookline.test>" in text


def test_a_provider_4xx_fails_the_message_without_a_retry(tenant, email_settings, respx_mock):
    email_settings(**POSTMARK)
    route = respx_mock.post(f"{API}/email").respond(422, json={"ErrorCode": 406, "Message": "Inactive recipient"})
    message_id = enqueue(tenant.id)

    assert send.apply(kwargs={"tenant_id": tenant.id, "message_id": message_id}).get() == "failed"

    assert route.call_count == 1
    failed = row(tenant.id, message_id)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert "422" in failed.last_error and "Inactive recipient" in failed.last_error


def test_a_provider_5xx_is_retried_then_sent(tenant, email_settings, respx_mock):
    email_settings(**POSTMARK)
    route = respx_mock.post(f"{API}/email")
    route.side_effect = [httpx.Response(503, text="unavailable"), httpx.ReadTimeout("slow"),
                         httpx.Response(200, json={"MessageID": "pm-123", "ErrorCode": 0, "Message": "OK"})]
    message_id = enqueue(tenant.id)

    assert send.apply(kwargs={"tenant_id": tenant.id, "message_id": message_id}).get() == "sent"

    assert route.call_count == 3
    sent = row(tenant.id, message_id)
    assert (sent.status, sent.attempts, sent.provider_message_id, sent.last_error) == ("sent", 3, "pm-123", None)


def test_a_transient_failure_waits_queued_with_backoff_and_its_error(tenant, email_settings, respx_mock):
    email_settings(**POSTMARK)
    respx_mock.post(f"{API}/email").respond(500, text="boom")
    message_id = enqueue(tenant.id)
    before = datetime.now(timezone.utc)

    with pytest.raises(Retry):
        send(tenant_id=tenant.id, message_id=message_id)

    waiting = row(tenant.id, message_id)
    assert (waiting.status, waiting.attempts) == ("queued", 1)
    assert "500" in waiting.last_error
    assert 15 <= (waiting.due_at - before).total_seconds() <= 45  # 30 s jittered down to 15 s at most, plus run time


def test_transient_failures_give_up_after_the_last_attempt(tenant, email_settings, respx_mock):
    email_settings(email_max_attempts=3, **POSTMARK)
    route = respx_mock.post(f"{API}/email").respond(502, text="bad gateway")
    message_id = enqueue(tenant.id)

    assert send.apply(kwargs={"tenant_id": tenant.id, "message_id": message_id}).get() == "failed"

    assert route.call_count == 3
    failed = row(tenant.id, message_id)
    assert failed.status == "failed" and failed.last_error.startswith("gave up after 3 attempts")


def test_a_context_missing_a_variable_fails_clearly_and_sends_nothing(tenant, email_settings, tmp_path):
    message_id = enqueue(tenant.id, context={"name": "Ana", "step": 1})

    assert send.apply(kwargs={"tenant_id": tenant.id, "message_id": message_id}).get() == "failed"

    failed = row(tenant.id, message_id)
    assert failed.last_error == ("template 'dunning_reminder': 'invoice_number' is undefined "
                                 "(add it to the message's context)")
    assert mails(tmp_path) == []


def test_over_the_tenants_send_rate_the_message_waits_queued_not_failed(tenant, other_tenant, email_settings, tmp_path):
    email_settings(email_tenant_rate_limit=1, email_rate_window_seconds=3600)
    first, second = enqueue(tenant.id, key="a"), enqueue(tenant.id, key="b")
    elsewhere = enqueue(other_tenant.id, key="a")

    send(tenant_id=tenant.id, message_id=first)
    with pytest.raises(Retry):
        send(tenant_id=tenant.id, message_id=second)
    send(tenant_id=other_tenant.id, message_id=elsewhere)  # another tenant has its own allowance

    waiting = row(tenant.id, second)
    assert (waiting.status, waiting.attempts, waiting.last_error) == ("queued", 0, None)
    assert waiting.due_at > datetime.now(timezone.utc)
    assert row(other_tenant.id, elsewhere).status == "sent"
    assert len(mails(tmp_path)) == 2


def test_over_the_providers_send_rate_every_tenant_waits(tenant, other_tenant, email_settings):
    email_settings(email_provider_rate_limit=1, email_rate_window_seconds=3600)
    mine, theirs = enqueue(tenant.id), enqueue(other_tenant.id)

    send(tenant_id=tenant.id, message_id=mine)
    with pytest.raises(Retry):
        send(tenant_id=other_tenant.id, message_id=theirs)

    assert row(other_tenant.id, theirs).status == "queued"


def test_a_sent_message_can_be_marked_bounced_by_its_provider_id(tenant, email_settings):
    message_id = enqueue(tenant.id)
    send.apply(kwargs={"tenant_id": tenant.id, "message_id": message_id})
    provider_id = row(tenant.id, message_id).provider_message_id

    with tenant_session(tenant.id) as session:
        unknown = messaging.mark_bounced(session, tenant.id, provider_message_id="nope", reason="x")
        bounced = messaging.mark_bounced(session, tenant.id, provider_message_id=provider_id,
                                         reason="HardBounce: mailbox does not exist")

    assert unknown is None
    assert (bounced.status, bounced.last_error) == ("bounced", "bounced: HardBounce: mailbox does not exist")


def test_an_unknown_template_or_address_is_refused_at_enqueue(tenant):
    with pytest.raises(ValueError, match="unknown email template 'dunning'"):
        enqueue(tenant.id, template="dunning")
    with pytest.raises(ValueError, match="not an email address"):
        enqueue(tenant.id, to="ana@example.com\r\nBcc: all@example.com")


def test_backoff_doubles_with_jitter_and_stays_within_what_the_broker_holds():
    # The shared backoff with the email queue's base and cap; `attempts - 1` retries before the next try.
    from hookline.tasks.email import BACKOFF_BASE, BACKOFF_CAP
    from hookline.workers.limits import LONGEST_BROKER_DELAY
    from hookline.workers.retry import backoff

    assert all(15 <= backoff(0, base=BACKOFF_BASE, cap=BACKOFF_CAP) <= 30 for _ in range(50))
    assert all(60 <= backoff(2, base=BACKOFF_BASE, cap=BACKOFF_CAP) <= 120 for _ in range(50))
    assert all(900 <= backoff(20, base=BACKOFF_BASE, cap=BACKOFF_CAP) <= 1800 for _ in range(50))  # the cap
    assert backoff(0, retry_after=7200, base=BACKOFF_BASE, cap=BACKOFF_CAP) == LONGEST_BROKER_DELAY
    assert len({backoff(1, base=BACKOFF_BASE, cap=BACKOFF_CAP) for _ in range(20)}) > 1  # jittered
