"""The email queue end to end: a real Celery worker sends through a real SMTP server (aiosmtpd) on loopback."""

import pytest

from hookline.db import global_session, tenant_session
from hookline.models import Tenant
from hookline.services import messaging
from hookline.services.tenants import set_sender
from hookline.tasks.email import SEND, send_after_commit
from hookline.transport.publish import publish
from tests.e2e.conftest import celery_worker
from tests.support.processes import wait_for
from tests.support.smtp import PASSWORD, USER, smtp_server


@pytest.fixture(scope="module")
def smtp(tmp_path_factory):
    with smtp_server(tmp_path_factory.mktemp("smtp"), secure=True) as server:
        yield server


@pytest.fixture(scope="module")
def email_worker(database, redis_client, smtp, tmp_path_factory):
    env = {"HOOKLINE_EMAIL_TRANSPORT": "smtp", "HOOKLINE_SMTP_HOST": smtp.host, "HOOKLINE_SMTP_PORT": str(smtp.port),
           "HOOKLINE_SMTP_USERNAME": USER, "HOOKLINE_SMTP_PASSWORD": PASSWORD, "HOOKLINE_SMTP_CA_FILE": str(smtp.ca_file),
           "HOOKLINE_EMAIL_FROM_ADDRESS": "notifications@hookline.test"}
    with celery_worker(["email"], tmp_path_factory.mktemp("worker") / "email-worker.log", env) as worker:
        yield worker


def status(tenant_id, message_id):
    with tenant_session(tenant_id) as session:
        return messaging.get(session, tenant_id, message_id).status


def test_messages_go_out_once_each_through_smtp_even_when_published_twice(email_worker, smtp, tenant):
    smtp.received.clear()
    with global_session() as session:
        set_sender(session, session.get(Tenant, tenant.id), name="Sunny Solar", reply_to="office@sunny.example")
    with tenant_session(tenant.id) as session:  # as a dunning or reports task would
        report = messaging.enqueue(session, tenant.id, template="report_ready", recipient="ops@sunny.example",
                                   context={"name": "Ops", "report_name": "November KPIs", "url": "https://r.example/1"},
                                   idempotency_key="report:2026-11")
        booking = messaging.enqueue(session, tenant.id, template="appointment_confirmation",
                                    recipient="ana@example.com",
                                    context={"name": "Ana", "when": "3 Dec 2026, 10:00", "where": "Hauptstr. 1"},
                                    idempotency_key="appointment:apt-1")
        send_after_commit(session, report)
        send_after_commit(session, booking)
    publish(SEND, tenant_id=tenant.id, message_id=report.id)  # a duplicate delivery of the same task

    wait_for(lambda: status(tenant.id, report.id) == "sent" and status(tenant.id, booking.id) == "sent",
             what="both messages to be sent", timeout=60)
    wait_for(lambda: "email.skipped" in "\n".join(email_worker.lines()), what="the duplicate to be skipped")

    assert sorted(r.rcpt_tos[0] for r in smtp.received) == ["ana@example.com", "ops@sunny.example"]
    assert all(r.tls and r.authenticated for r in smtp.received)
    by_recipient = {r.rcpt_tos[0]: r.message for r in smtp.received}
    assert by_recipient["ops@sunny.example"]["Subject"] == 'Your report "November KPIs" is ready'
    assert by_recipient["ana@example.com"]["From"] == "Sunny Solar <notifications@hookline.test>"
    assert by_recipient["ana@example.com"]["Reply-To"] == "office@sunny.example"
    assert PASSWORD not in "\n".join(email_worker.lines())


def test_a_refused_recipient_is_failed_by_the_worker_without_a_retry(email_worker, smtp, tenant):
    smtp.received.clear()
    with tenant_session(tenant.id) as session:
        message = messaging.enqueue(session, tenant.id, template="welcome", recipient="reject@example.com",
                                    context={"name": "Nobody"}, idempotency_key="welcome:reject")
        send_after_commit(session, message)

    wait_for(lambda: status(tenant.id, message.id) == "failed", what="the message to fail", timeout=60)

    with tenant_session(tenant.id) as session:
        failed = messaging.get(session, tenant.id, message.id)
    assert failed.attempts == 1 and "550" in failed.last_error
    assert smtp.received == []
