"""Billing-provider webhook signatures, Stripe style: `t=<unix>,v1=<hex>[,v1=<hex>…]` over `{t}.{raw body}`."""

from __future__ import annotations

from collections.abc import Mapping

from hookline.integrations.errors import InvalidSignature
from hookline.integrations.signing import hmac_sha256_hex, require_fresh, same_digest, unix_seconds

HEADER = "stripe-signature"


def verify(body: bytes, headers: Mapping[str, str], *, secret: str, window: float, now: float | None = None) -> None:
    """Raise InvalidSignature unless one `v1` entry matches (several appear while a secret rotates)."""
    parts: dict[str, list[str]] = {}
    for item in headers.get(HEADER, "").split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    timestamp = unix_seconds(parts["t"][0] if "t" in parts else None, "timestamp (t=) in Stripe-Signature")
    expected = hmac_sha256_hex(secret, f"{timestamp}.".encode() + body)
    # Compare against every candidate, without stopping at the first match.
    if not any([same_digest(expected, candidate) for candidate in parts.get("v1", [])]):
        raise InvalidSignature("signature mismatch")
    require_fresh(timestamp, window, now=now)
