"""GoHighLevel webhook signatures and keys, against keys generated for the test."""

import base64
import json

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

from hookline.integrations.errors import InvalidSignature
from hookline.integrations.ghl.keys import ed25519_public_key, pem
from hookline.integrations.ghl.verify import verify
from tests.support import keys

BODY = json.dumps({"type": "ContactCreate", "locationId": "loc-1", "id": "c-1"}, indent=2).encode()
RSA = load_pem_public_key(keys.rsa_public_pem().encode())
ED = load_pem_public_key(keys.ed25519_public_pem().encode())


def check(body, headers, ed25519_key=ED, rsa_key=None):
    return verify(body, headers, ed25519_key=ed25519_key, rsa_key=rsa_key)


def refusal(body, headers, **kwargs) -> str:
    with pytest.raises(InvalidSignature) as caught:
        check(body, headers, **kwargs)
    return caught.value.reason


def test_ed25519_signature_over_the_raw_body_verifies():
    assert check(BODY, {"x-ghl-signature": keys.ed25519_signature(BODY)}) == "ed25519"


def test_a_signature_over_the_compact_json_is_refused():
    compact = json.dumps(json.loads(BODY), separators=(",", ":")).encode()

    assert refusal(BODY, {"x-ghl-signature": keys.ed25519_signature(compact)}) == "ed25519 signature mismatch"


def test_rsa_is_refused_unless_its_key_is_given():
    headers = {"x-wh-signature": keys.rsa_signature(BODY)}

    assert refusal(BODY, headers) == (
        "x-wh-signature (RSA) is not accepted; GoHighLevel signs with Ed25519 in x-ghl-signature")
    assert check(BODY, headers, rsa_key=RSA) == "rsa"


def test_ed25519_is_checked_first_and_is_decisive():
    headers = {"x-ghl-signature": keys.ed25519_signature(b"other body"), "x-wh-signature": keys.rsa_signature(BODY)}

    assert refusal(BODY, headers, rsa_key=RSA) == "ed25519 signature mismatch"


def test_without_an_ed25519_key_an_accepted_rsa_header_is_used():
    headers = {"x-ghl-signature": keys.ed25519_signature(BODY), "x-wh-signature": keys.rsa_signature(BODY)}

    assert check(BODY, headers, ed25519_key=None, rsa_key=RSA) == "rsa"
    assert refusal(BODY, headers, ed25519_key=None) == "ed25519 key not configured"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing signature"),
        ({"x-ghl-signature": "not base64!!"}, "malformed signature"),
        ({"x-ghl-signature": keys.ed25519_signature(BODY + b" ")}, "ed25519 signature mismatch"),
        ({"x-ghl-signature": base64.b64encode(b"x" * 64).decode()}, "ed25519 signature mismatch"),
        ({"x-ghl-signature": base64.b64encode(b"short").decode()}, "ed25519 signature mismatch"),
        ({"x-wh-signature": keys.rsa_signature(BODY + b" ")}, "rsa signature mismatch"),
    ],
)
def test_bad_signatures_are_refused_with_a_reason(headers, reason):
    assert refusal(BODY, headers, rsa_key=RSA) == reason


def test_tampered_body_is_refused():
    tampered = BODY.replace(b"c-1", b"c-2")

    assert refusal(tampered, {"x-ghl-signature": keys.ed25519_signature(BODY)}) == "ed25519 signature mismatch"


def test_a_hostile_body_costs_one_signature_check_and_is_refused():
    deep = b"[" * 10_000 + b"]" * 10_000

    assert refusal(deep, {"x-ghl-signature": keys.ed25519_signature(BODY)}) == "ed25519 signature mismatch"


RAW = ED.public_bytes(Encoding.Raw, PublicFormat.Raw)
DER = ED.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
KEY_FORMS = {
    "PEM text": keys.ed25519_public_pem(),
    "PEM with escaped newlines": keys.ed25519_public_pem().replace("\n", "\\n"),
    "raw, base64": base64.b64encode(RAW).decode(),
    "raw, base64 unpadded": base64.b64encode(RAW).decode().rstrip("="),
    "raw, hex": RAW.hex(),
    "DER SPKI, base64": base64.b64encode(DER).decode(),
    "DER SPKI, hex": DER.hex().upper(),
}


@pytest.mark.parametrize("value", KEY_FORMS.values(), ids=KEY_FORMS.keys())
def test_the_ed25519_key_is_read_in_every_form_the_sdk_takes(value):
    key = ed25519_public_key(value)

    assert pem(key) == keys.ed25519_public_pem()
    assert check(BODY, {"x-ghl-signature": keys.ed25519_signature(BODY)}, ed25519_key=key) == "ed25519"


def test_the_ed25519_key_is_read_from_a_pem_file(tmp_path):
    path = tmp_path / "ghl.pub"
    path.write_text(keys.ed25519_public_pem())

    assert pem(ed25519_public_key(f"  {path}\n")) == keys.ed25519_public_pem()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("/no/such/key.pem", "neither PEM text nor a readable file, nor a base64 or hex key"),
        (RAW[:31].hex(), "31 bytes are neither a raw Ed25519 key (32) nor its DER SPKI (44"),
        (base64.b64encode(b"\x30" * 44).decode(), "44 bytes are neither"),
        (keys.rsa_public_pem(), "expected a Ed25519 public key, got"),
        ("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----", "not a PEM public key"),
    ],
)
def test_a_bad_ed25519_key_says_why(value, message):
    with pytest.raises(ValueError) as caught:
        ed25519_public_key(value)

    assert message in str(caught.value)
