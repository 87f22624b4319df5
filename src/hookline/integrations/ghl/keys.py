"""GoHighLevel's webhook public keys: the Ed25519 key's accepted forms, and the legacy published RSA key.

GoHighLevel signs every webhook with Ed25519 (`x-ghl-signature`); the key is shown in each
Marketplace app's settings and has no default here. The RSA 4096 key below verified the legacy
`x-wh-signature`, which GoHighLevel no longer sends (INTEGRATIONS.md section 0); it serves only
replays of old captures (HOOKLINE_GHL_ACCEPT_RSA_SIGNATURES). Source: GoHighLevel/highlevel-api-docs,
docs/oauth/WebhookAuthentication.md; override with HOOKLINE_GHL_WEBHOOK_PUBLIC_KEY.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

GHL_RSA_PUBLIC_KEY_PEM = """-----BEGIN PUBLIC KEY-----
MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEAokvo/r9tVgcfZ5DysOSC
Frm602qYV0MaAiNnX9O8KxMbiyRKWeL9JpCpVpt4XHIcBOK4u3cLSqJGOLaPuXw6
dO0t6Q/ZVdAV5Phz+ZtzPL16iCGeK9po6D6JHBpbi989mmzMryUnQJezlYJ3DVfB
csedpinheNnyYeFXolrJvcsjDtfAeRx5ByHQmTnSdFUzuAnC9/GepgLT9SM4nCpv
uxmZMxrJt5Rw+VUaQ9B8JSvbMPpez4peKaJPZHBbU3OdeCVx5klVXXZQGNHOs8gF
3kvoV5rTnXV0IknLBXlcKKAQLZcY/Q9rG6Ifi9c+5vqlvHPCUJFT5XUGG5RKgOKU
J062fRtN+rLYZUV+BjafxQauvC8wSWeYja63VSUruvmNj8xkx2zE/Juc+yjLjTXp
IocmaiFeAO6fUtNjDeFVkhf5LNb59vECyrHD2SQIrhgXpO4Q3dVNA5rw576PwTzN
h/AMfHKIjE4xQA1SZuYJmNnmVZLIZBlQAF9Ntd03rfadZ+yDiOXCCs9FkHibELhC
HULgCsnuDJHcrGNd5/Ddm5hxGQ0ASitgHeMZ0kcIOwKDOzOU53lDza6/Y09T7sYJ
PQe7z0cvj7aE4B+Ax1ZoZGPzpJlZtGXCsu9aTEGEnKzmsFqwcSsnw3JB31IGKAyk
T1hhTiaCeIY/OwwwNUY2yvcCAwEAAQ==
-----END PUBLIC KEY-----
"""


# An Ed25519 public key as DER SubjectPublicKeyInfo is this prefix and the 32 raw bytes (RFC 8410).
ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
KeyT = TypeVar("KeyT")
HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _key_bytes(text: str) -> bytes | None:
    """Hex or base64 (standard or URL-safe, padded or not) text as bytes; None when it is neither."""
    if len(text) % 2 == 0 and set(text) <= HEX_DIGITS:  # tried first: hex digits are base64 letters too
        return bytes.fromhex(text)
    try:
        padded = text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def file_text(text: str) -> str | None:
    """What the file named `text` holds (stripped), or None when `text` names no file."""
    try:
        path = Path(text).expanduser()
        return path.read_text().strip() if "\n" not in text and path.is_file() else None
    except (OSError, ValueError):  # a name too long for a path, a NUL in it
        return None


def ed25519_public_key(value: str) -> Ed25519PublicKey:
    """The Marketplace app's webhook key in any form GoHighLevel's SDK takes it: PEM text (with real or
    escaped newlines), a path to a file holding one, or the raw 32-byte key or its DER SPKI as base64 or hex."""
    text = value.strip().replace("\\n", "\n")
    text = file_text(text) or text
    if not text.startswith("-----BEGIN"):
        raw = _key_bytes(text)
        if raw is None:
            raise ValueError(f"neither PEM text nor a readable file, nor a base64 or hex key: {text[:80]!r}")
        if len(raw) == 32:
            return Ed25519PublicKey.from_public_bytes(raw)
        if len(raw) == len(ED25519_SPKI_PREFIX) + 32 and raw.startswith(ED25519_SPKI_PREFIX):
            return Ed25519PublicKey.from_public_bytes(raw[len(ED25519_SPKI_PREFIX):])
        raise ValueError(f"no file of that name, and its {len(raw)} bytes are neither a raw Ed25519 key (32) "
                         f"nor its DER SPKI (44, starting {ED25519_SPKI_PREFIX.hex()})")
    return pem_public_key(text, Ed25519PublicKey)  # type: ignore[type-abstract]  # it is only given to isinstance


def pem_public_key(text: str, expected: type[KeyT]) -> KeyT:
    """PEM text as a public key of type `expected`, else ValueError saying which it is not."""
    try:
        key = load_pem_public_key(text.encode())
    except ValueError as exc:
        raise ValueError(f"not a PEM public key ({exc})") from None
    if not isinstance(key, expected):
        kind = expected.__name__.removesuffix("PublicKey")
        raise ValueError(f"expected a {kind} public key, got {type(key).__name__}")
    return key


def pem(key: Ed25519PublicKey | RSAPublicKey) -> str:
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
