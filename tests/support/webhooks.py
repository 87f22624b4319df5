"""Payload fixtures and signed GoHighLevel deliveries for the tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tests.support import keys

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# The providers' documented bodies, copied verbatim (tests/fixtures/README.md names each source).
PROVIDERS = FIXTURES / "providers"


def payload(name: str, **changes: Any) -> dict[str, Any]:
    """A fixture body from tests/fixtures/<provider>/<Event>.json, with top-level changes.

    A signed `timestamp` is set to now (it must fall inside the replay window) unless changed.
    """
    data = json.loads((FIXTURES / name).read_text())
    if "timestamp" in data:
        data["timestamp"] = now_iso()
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def now_iso(offset_seconds: float = 0) -> str:
    moment = datetime.now(timezone.utc) + timedelta(seconds=offset_seconds)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode(body: dict[str, Any] | bytes) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def ghl_headers(body: bytes, scheme: str = "ed25519") -> dict[str, str]:
    """Signed as GoHighLevel signs today (Ed25519, `x-ghl-signature`); "rsa" or "both" add the legacy
    `x-wh-signature`, which an ingress accepts only with HOOKLINE_GHL_ACCEPT_RSA_SIGNATURES=true."""
    headers = {"content-type": "application/json"}
    if scheme in ("rsa", "both"):
        headers["x-wh-signature"] = keys.rsa_signature(body)
    if scheme in ("ed25519", "both"):
        headers["x-ghl-signature"] = keys.ed25519_signature(body)
    return headers


def shared(name: str) -> dict[str, Any]:
    """A provider's documented body from tests/fixtures/providers/, as the provider published it."""
    return json.loads((PROVIDERS / name).read_text())


# The HMAC schemes, written out here from INTEGRATIONS.md rather than borrowed from the code under test.
def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def reonic_headers(body: bytes, *, secret: str, client_id: str, event_id: str, event: str = "contact_created",
                   timestamp: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "content-type": "application/json",
        "x-reonic-client-id": client_id,
        "x-reonic-event": event,
        "x-reonic-event-id": event_id,
        "x-reonic-delivery-id": f"dlv-{event_id}-{timestamp}",
        "x-reonic-timestamp": str(timestamp),
        "x-reonic-signature": "sha256=" + _hmac_hex(secret, f"{timestamp}.".encode() + body),
    }


def zoom_headers(body: bytes, *, secret: str, timestamp: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "content-type": "application/json",
        "x-zm-request-timestamp": str(timestamp),
        "x-zm-signature": "v0=" + _hmac_hex(secret, f"v0:{timestamp}:".encode() + body),
    }


def stripe_headers(body: bytes, *, secret: str, timestamp: int | None = None, extra_v1: str | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = f"t={timestamp}," + (f"v1={extra_v1}," if extra_v1 else "") + "v1=" + _hmac_hex(
        secret, f"{timestamp}.".encode() + body)
    return {"content-type": "application/json", "stripe-signature": signature}
