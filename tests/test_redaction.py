"""The one redaction rule of `hookline events show` and the console."""

from hookline.redaction import REDACTED, redact
from tests.support.webhooks import payload


def test_personal_fields_and_secrets_are_masked_and_ids_are_kept():
    event = {**payload("ghl/ContactCreate.json"), "api_token": "tok-live-123456789",
             "note": "sent with Authorization: Bearer abc.def.ghi", "nested": {"mobilePhone": "+49 30 1234", "n": 3}}

    shown = redact(event)

    assert {key: shown[key] for key in ("email", "phone", "name", "firstName", "lastName", "address1",
                                        "postalCode", "dateOfBirth", "api_token")} == dict.fromkeys(
        ("email", "phone", "name", "firstName", "lastName", "address1", "postalCode", "dateOfBirth", "api_token"),
        REDACTED)
    assert shown["nested"] == {"mobilePhone": REDACTED, "n": 3}
    assert "abc.def.ghi" not in shown["note"]
    assert (shown["id"], shown["locationId"], shown["type"], shown["tags"]) == (
        "ct-ana-lindqvist-01", "loc-sunny-001", "ContactCreate", ["solar", "roof-south"])
    assert event["email"] == "ana.lindqvist@example.com"  # the input is left as it was
