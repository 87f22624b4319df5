"""`hookline tenants set-sender` and `hookline email list/replay`, run as real processes."""

import pytest

from hookline.db import tenant_session
from hookline.services import messaging
from tests.support.cli import hookline


def test_set_sender_then_clear_the_name(tenant):
    result = hookline("tenants", "set-sender", "sunny-solar", "--name", "Sunny Solar Billing",
                      "--reply-to", "billing@sunny.example", env={"HOOKLINE_EMAIL_FROM_ADDRESS": "mail@hookline.test"})
    cleared = hookline("tenants", "set-sender", "sunny-solar", "--name", "",
                       env={"HOOKLINE_EMAIL_FROM_ADDRESS": "mail@hookline.test"})

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "sunny-solar: From Sunny Solar Billing <mail@hookline.test>, Reply-To billing@sunny.example"
    assert cleared.stdout.strip() == "sunny-solar: From Sunny Solar <mail@hookline.test>, Reply-To billing@sunny.example"


@pytest.mark.parametrize(("args", "message"), [
    (("sunny-solar",), "give --name, --reply-to or both"),
    (("sunny-solar", "--reply-to", "not an address"), "--reply-to: not an email address"),
    (("nobody", "--name", "X"), "no tenant with slug 'nobody'"),
])
def test_set_sender_refuses_bad_input(tenant, args, message):
    result = hookline("tenants", "set-sender", *args)

    assert result.returncode != 0
    assert message in result.stderr


def test_email_list_and_replay_a_failed_message(tenant, redis_client):
    redis_client.delete("email")
    with tenant_session(tenant.id) as session:
        message = messaging.enqueue(session, tenant.id, template="welcome", recipient="ana@example.com",
                                    context={"name": "Ana"}, idempotency_key="welcome:ana")
        messaging.claim(session, tenant.id, message.id)
        messaging.mark_failed(session, tenant.id, message.id, "Postmark POST /email: 422 Inactive recipient")

    listed = hookline("email", "list", "--status", "failed")
    replayed = hookline("email", "replay", str(message.id), "--tenant", "sunny-solar")
    again = hookline("email", "replay", str(message.id))

    assert "welcome" in listed.stdout and "422 Inactive recipient" in listed.stdout
    assert replayed.returncode == 0, replayed.stderr
    assert f"message {message.id} (sunny-solar): queued again" in replayed.stdout
    assert redis_client.llen("email") == 1
    with tenant_session(tenant.id) as session:
        assert messaging.get(session, tenant.id, message.id).status == "queued"
    assert again.returncode == 1 and f"no failed message {message.id}" in again.stderr
