"""GoHighLevel webhook signatures, against keys generated for the test."""

import base64
import json

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from hookline.integrations.errors import InvalidSignature
from hookline.integrations.ghl.verify import verify
from tests.support import keys

BODY = json.dumps({"type": "ContactCreate", "locationId": "loc-1", "id": "c-1"}, indent=2).encode()
RSA = load_pem_public_key(keys.rsa_public_pem().encode())
ED = load_pem_public_key(keys.ed25519_public_pem().encode())


def check(body, headers, ed25519_key=ED):
    return verify(body, headers, rsa_key=RSA, ed25519_key=ed25519_key)


def test_rsa_signature_over_the_raw_body_verifies():
    assert check(BODY, {"x-wh-signature": keys.rsa_signature(BODY)}) == "rsa"


def test_ed25519_signature_verifies():
    assert check(BODY, {"x-ghl-signature": keys.ed25519_signature(BODY)}) == "ed25519"


def test_ed25519_is_checked_first_and_is_decisive():
    headers = {"x-ghl-signature": keys.ed25519_signature(b"other body"), "x-wh-signature": keys.rsa_signature(BODY)}

    with pytest.raises(InvalidSignature) as caught:
        check(BODY, headers)

    assert caught.value.reason == "ed25519 signature mismatch"


def test_without_an_ed25519_key_the_rsa_header_is_used():
    headers = {"x-ghl-signature": keys.ed25519_signature(BODY), "x-wh-signature": keys.rsa_signature(BODY)}

    assert check(BODY, headers, ed25519_key=None) == "rsa"


def test_signature_over_compact_json_is_accepted():
    compact = json.dumps(json.loads(BODY), separators=(",", ":")).encode()

    assert check(BODY, {"x-wh-signature": keys.rsa_signature(compact)}) == "rsa"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing signature"),
        ({"x-wh-signature": "not base64!!"}, "malformed signature"),
        ({"x-wh-signature": keys.rsa_signature(BODY + b" ")}, "rsa signature mismatch"),
        ({"x-wh-signature": base64.b64encode(b"x" * 256).decode()}, "rsa signature mismatch"),
    ],
)
def test_bad_signatures_are_refused_with_a_reason(headers, reason):
    with pytest.raises(InvalidSignature) as caught:
        check(BODY, headers)

    assert caught.value.reason == reason


def test_ed25519_header_without_a_configured_key_is_refused():
    with pytest.raises(InvalidSignature) as caught:
        check(BODY, {"x-ghl-signature": keys.ed25519_signature(BODY)}, ed25519_key=None)

    assert caught.value.reason == "ed25519 key not configured"


def test_tampered_body_is_refused():
    tampered = BODY.replace(b"c-1", b"c-2")

    with pytest.raises(InvalidSignature):
        check(tampered, {"x-ghl-signature": keys.ed25519_signature(BODY)})
