"""Reonic webhook signatures: `X-Reonic-Signature: sha256=<hex>` over `{X-Reonic-Timestamp}.{raw body}`."""

from hookline.integrations.signing import TimestampedHmac

SCHEME = TimestampedHmac("x-reonic-timestamp", "x-reonic-signature", "sha256=", "{timestamp}.")
verify = SCHEME.verify
