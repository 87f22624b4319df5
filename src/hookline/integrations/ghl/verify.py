"""GoHighLevel webhook signatures: Ed25519 `x-ghl-signature` first, else RSA-SHA256 `x-wh-signature`."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator, Mapping

from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from hookline.integrations.errors import InvalidSignature


def signed_candidates(body: bytes) -> Iterator[bytes]:
    """The bytes GoHighLevel may have signed: the raw body, then compact re-serialised JSON.

    Their Node SDK verifies JSON.stringify(req.body); which form GHL signs is unconfirmed
    (INTEGRATIONS.md), so both are tried. Neither lets a forger choose the content. Lazily: the
    re-serialisation (a JSON parse and dump) is only made when the raw body did not verify.
    """
    yield body
    try:
        compact = json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode()
    except ValueError:
        return
    if compact != body:
        yield compact


def _decode(signature: str) -> bytes:
    try:
        return base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSignature("malformed signature") from None


def _any_matches(check: Callable[[bytes], None], body: bytes) -> bool:
    for candidate in signed_candidates(body):
        try:
            check(candidate)
        except CryptoInvalidSignature:
            continue
        return True
    return False


def verify(
    body: bytes,
    headers: Mapping[str, str],
    *,
    rsa_key: RSAPublicKey,
    ed25519_key: Ed25519PublicKey | None,
) -> str:
    """Return the scheme that verified ("ed25519" or "rsa"); raise InvalidSignature otherwise."""
    ed_signature = headers.get("x-ghl-signature")
    rsa_signature = headers.get("x-wh-signature")
    if ed_signature and ed25519_key is not None:
        signature = _decode(ed_signature)
        if _any_matches(lambda data: ed25519_key.verify(signature, data), body):
            return "ed25519"
        raise InvalidSignature("ed25519 signature mismatch")
    if rsa_signature:
        signature = _decode(rsa_signature)
        if _any_matches(lambda data: rsa_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256()), body):
            return "rsa"
        raise InvalidSignature("rsa signature mismatch")
    if ed_signature:
        raise InvalidSignature("ed25519 key not configured")
    raise InvalidSignature("missing signature")
