"""What the HMAC-signed webhooks (Reonic, Zoom, payments) share: the digest, the comparison, the replay window."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass

from hookline.integrations.errors import InvalidSignature


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def same_digest(expected_hex: str, given_hex: str) -> bool:
    """Constant-time comparison of two hex digests (case-insensitive, as senders differ)."""
    return hmac.compare_digest(expected_hex.lower().encode(), given_hex.strip().lower().encode("ascii", "replace"))


def unix_seconds(value: str | None, name: str) -> int:
    """A signed timestamp header in unix seconds; a missing or malformed one fails authentication."""
    if value is None or not value.strip().isdigit() or len(value.strip()) > 12:
        raise InvalidSignature(f"missing or malformed {name}")
    return int(value.strip())


def require_fresh(timestamp: float, window: float, *, now: float | None = None) -> None:
    """Refuse a signature made more than `window` seconds before (or after) now: a replayed delivery."""
    now = time.time() if now is None else now
    if abs(now - timestamp) > window:
        raise InvalidSignature(f"timestamp outside the {int(window)} s replay window")


@dataclass(frozen=True)
class TimestampedHmac:
    """A scheme signing `{prefix-free template with the timestamp}{raw body}`, with the timestamp in a header."""

    timestamp_header: str
    signature_header: str
    prefix: str  # before the hex digest in the signature header, e.g. "sha256=" or "v0="
    template: str  # what precedes the body in the signed message, e.g. "{timestamp}."

    def sign(self, secret: str, timestamp: int, body: bytes) -> str:
        return self.prefix + hmac_sha256_hex(secret, self.template.format(timestamp=timestamp).encode() + body)

    def verify(self, body: bytes, headers: Mapping[str, str], *, secret: str, window: float,
               now: float | None = None) -> None:
        """Raise InvalidSignature unless the signature is made with `secret` and its timestamp is fresh."""
        timestamp = unix_seconds(headers.get(self.timestamp_header), self.timestamp_header)
        given = headers.get(self.signature_header, "")
        if not given.startswith(self.prefix):
            raise InvalidSignature(f"missing or malformed {self.signature_header}")
        if not same_digest(self.sign(secret, timestamp, body).removeprefix(self.prefix), given.removeprefix(self.prefix)):
            raise InvalidSignature("signature mismatch")
        require_fresh(timestamp, window, now=now)
