"""POST /webhooks/payments/{connection_token} over real HTTP: Stripe-style signatures, the URL token as the tenant."""

import time

import pytest

from tests.ingress.conftest import count_all_events, events
from tests.support.cli import hookline
from tests.support.webhooks import encode, payload, stripe_headers


def post(client, token, secret, body=None, **header_args):
    raw = encode(body if body is not None else payload("payments/invoice.paid.json"))
    return client.post(f"/webhooks/payments/{token}", content=raw,
                       headers=stripe_headers(raw, secret=secret, **header_args))


def test_a_signed_invoice_event_is_stored_once_under_its_event_id(client, sunny, callcentre):
    first = post(client, sunny.payments_token, sunny.payments_secret)
    again = post(client, sunny.payments_token, sunny.payments_secret)

    assert (first.status_code, again.status_code) == (202, 200)
    [event] = events(sunny.tenant_id)
    assert (event.provider, event.event_type, event.dedupe_key) == ("payments", "invoice.paid", "evt_1QbP7xSunny0001")
    assert event.payload["data"]["object"]["amount_paid"] == 12900
    assert events(callcentre.tenant_id) == []


def test_a_header_with_two_v1_signatures_verifies_when_one_matches(client, sunny):
    # During a secret rotation the sender signs with both secrets.
    response = post(client, sunny.payments_token, sunny.payments_secret, extra_v1="00" * 32)

    assert response.status_code == 202


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (lambda a: post_args(a, secret="whsec_wrong"), 401, "invalid_signature"),
        (lambda a: post_args(a, secret="whsec_pay_callcentre"), 401, "invalid_signature"),
        (lambda a: post_args(a, timestamp=int(time.time()) - 301), 401, "invalid_signature"),
        (lambda a: post_args(a, token="paytok_guessed_0000000000000000"), 404, "unknown_tenant"),
        (lambda a: post_args(a, body=payload("payments/invoice.paid.json", id=None)), 422, "missing_field"),
        (lambda a: post_args(a, body=payload("payments/invoice.paid.json", type=None)), 422, "missing_field"),
        # A handled type whose body its dunning task could not read: refused at the door.
        (lambda a: post_args(a, body=payload("payments/invoice.paid.json", data={"object": {"id": "in_1"}})),
         422, "invalid_payload"),
    ],
    ids=["wrong-secret", "other-tenants-secret", "stale", "unknown-token", "no-event-id", "no-type", "bad-invoice"],
)
def test_refusals_store_nothing(client, sunny, callcentre, make, status, code):
    args = make(sunny)

    response = post(client, args.pop("token"), args.pop("secret"), **args)

    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert count_all_events([sunny.tenant_id, callcentre.tenant_id]) == 0


def post_args(accounts, **changes):
    return {"token": accounts.payments_token, "secret": accounts.payments_secret, **changes}


def test_a_header_without_a_timestamp_is_refused(client, sunny):
    raw = encode(payload("payments/invoice.paid.json"))
    signature = stripe_headers(raw, secret=sunny.payments_secret)["stripe-signature"].split(",", 1)[1]

    response = client.post(f"/webhooks/payments/{sunny.payments_token}", content=raw,
                           headers={"content-type": "application/json", "stripe-signature": signature})

    assert response.status_code == 401
    assert events(sunny.tenant_id) == []


def test_a_connection_made_by_the_cli_accepts_its_signed_events(client, tenant):
    result = hookline("connections", "add", "--tenant", tenant.slug, "--provider", "payments", "--secret-stdin",
                      input="whsec_from_cli\n")
    path = result.stdout.strip().splitlines()[-1].removeprefix("webhook URL path: ")

    assert result.returncode == 0, result.stderr
    assert path.startswith("/webhooks/payments/")
    assert "whsec_from_cli" not in result.stdout
    response = post(client, path.rsplit("/", 1)[1], "whsec_from_cli")
    assert response.status_code == 202
    assert len(events(tenant.id)) == 1
