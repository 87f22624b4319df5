"""GoHighLevel webhook signatures: Ed25519 `x-ghl-signature` over the raw body; legacy RSA only when asked for.

GoHighLevel's SDK verifies the raw request bytes (INTEGRATIONS.md section 0), and so do we: no
re-serialised form is tried, so a check never parses the body and costs one signature at most,
whatever the body holds. The RSA `x-wh-signature` is no longer sent; it is checked only when the
caller passes an RSA key (HOOKLINE_GHL_ACCEPT_RSA_SIGNATURES, to replay old captures).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from hookline.integrations.errors import InvalidSignature

ED25519_HEADER = "x-ghl-signature"
RSA_HEADER = "x-wh-signature"


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
        try:
            ed25519_key.verify(_decode(ed_signature), body)
        except CryptoInvalidSignature:
            raise InvalidSignature("ed25519 signature mismatch") from None
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
