"""POST /webhooks/forms/{tenant_slug} over real HTTP: the tenant's API key, JSON or urlencoded, Idempotency-Key."""

import pytest

from tests.ingress.conftest import count_all_events, events, log_lines
from tests.support.cli import hookline

SUBMISSION = {"name": "Jonas Berg", "email": "jonas.berg@example.com", "phone": "+49 30 1234567",
              "message": "Quote for 9 kWp with battery, please", "source": "website-quote-form"}


def post_json(client, slug, key, body=None, **headers):
    return client.post(f"/webhooks/forms/{slug}", json=body or SUBMISSION, headers={"x-api-key": key, **headers})


def test_a_json_submission_with_the_tenants_key_is_stored(client, tenant, sunny):
    response = post_json(client, tenant.slug, sunny.forms_key)

    assert response.status_code == 202
    [event] = events(tenant.id)
    assert (event.provider, event.event_type, event.payload) == ("forms", "form.submitted", SUBMISSION)
    assert event.dedupe_key.startswith("sha256:")


def test_an_urlencoded_submission_is_stored_as_an_object(client, tenant, sunny):
    response = client.post(f"/webhooks/forms/{tenant.slug}", content=b"name=Mia+Kurz&email=mia%40example.com&tag=a&tag=b",
                           headers={"content-type": "application/x-www-form-urlencoded", "x-api-key": sunny.forms_key})

    assert response.status_code == 202
    [event] = events(tenant.id)
    assert event.payload == {"name": "Mia Kurz", "email": "mia@example.com", "tag": ["a", "b"]}


def test_the_idempotency_key_dedupes_even_when_the_body_differs(client, tenant, sunny):
    first = post_json(client, tenant.slug, sunny.forms_key, **{"Idempotency-Key": "sub-42"})
    retry = post_json(client, tenant.slug, sunny.forms_key, {**SUBMISSION, "message": "edited"},
                      **{"Idempotency-Key": "sub-42"})

    assert (first.status_code, retry.status_code) == (202, 200)
    [event] = events(tenant.id)
    assert event.dedupe_key == "idem:sub-42"


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (lambda c, t, a: post_json(c, t.slug, "hlf_wrong"), 401, "invalid_signature"),
        (lambda c, t, a: c.post(f"/webhooks/forms/{t.slug}", json=SUBMISSION), 401, "invalid_signature"),
        (lambda c, t, a: post_json(c, "call-centre-two", a.forms_key), 401, "invalid_signature"),  # A's key on B
        (lambda c, t, a: post_json(c, "nobody-here", a.forms_key), 404, "unknown_tenant"),
        (lambda c, t, a: c.post(f"/webhooks/forms/{t.slug}", content=b"hello",
                                headers={"x-api-key": a.forms_key, "content-type": "text/plain"}), 415,
         "unsupported_media_type"),
        (lambda c, t, a: c.post(f"/webhooks/forms/{t.slug}", content=b"{not json",
                                headers={"x-api-key": a.forms_key, "content-type": "application/json"}), 400,
         "invalid_json"),
    ],
    ids=["wrong-key", "no-key", "other-tenants-slug", "unknown-slug", "text-plain", "bad-json"],
)
def test_refusals_store_nothing(client, tenant, sunny, callcentre, make, status, code):
    response = make(client, tenant, sunny)

    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert count_all_events([sunny.tenant_id, callcentre.tenant_id]) == 0


def test_a_tenant_without_a_forms_key_accepts_nothing(client, tenant, ingress_log):
    response = post_json(client, tenant.slug, "anything")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "secret_not_configured"
    assert events(tenant.id) == []
    assert [line["tenant_slug"] for line in log_lines(ingress_log, "webhook.secret_not_configured")
            if line.get("provider") == "forms"][-1] == tenant.slug


def test_a_new_key_from_the_cli_works_and_replaces_the_old_one(client, tenant):
    first = hookline("forms", "new-key", "--tenant", tenant.slug)
    second = hookline("forms", "new-key", "--tenant", tenant.slug)
    old_key, new_key = first.stdout.split()[-1], second.stdout.split()[-1]

    assert first.returncode == second.returncode == 0
    assert old_key.startswith("hlf_") and old_key != new_key
    assert post_json(client, tenant.slug, old_key).status_code == 401
    assert post_json(client, tenant.slug, new_key).status_code == 202


def test_new_key_for_an_unknown_tenant_is_a_clear_error(clean_tables):
    result = hookline("forms", "new-key", "--tenant", "nobody")

    assert result.returncode == 1
    assert "no tenant with slug 'nobody'" in result.stderr
