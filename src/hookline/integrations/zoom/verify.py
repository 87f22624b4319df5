"""Zoom webhook signatures (`x-zm-signature: v0=<hex>` over `v0:{timestamp}:{raw body}`) and URL validation."""

from __future__ import annotations

from hookline.integrations.signing import TimestampedHmac, hmac_sha256_hex

SCHEME = TimestampedHmac("x-zm-request-timestamp", "x-zm-signature", "v0=", "v0:{timestamp}:")
verify = SCHEME.verify


def url_validation_answer(secret: str, plain_token: str) -> dict[str, str]:
    """Zoom's challenge: echo `plainToken` with its HMAC-SHA256 under the app's secret token."""
    return {"plainToken": plain_token, "encryptedToken": hmac_sha256_hex(secret, plain_token.encode())}
