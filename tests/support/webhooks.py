"""Payload fixtures and signed GoHighLevel deliveries for the tests."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.support import keys

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# The providers' documented bodies, beside the checkout (never copied into it).
SHARED_PROVIDERS = Path(os.environ.get("HOOKLINE_SHARED_DIR", Path(__file__).resolve().parents[3] / "shared")) / "fixtures" / "providers"


def payload(name: str, **changes: Any) -> dict[str, Any]:
    """A fixture body from tests/fixtures/<provider>/<Event>.json, with top-level changes."""
    data = json.loads((FIXTURES / name).read_text())
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def encode(body: dict[str, Any] | bytes) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def ghl_headers(body: bytes, scheme: str = "rsa") -> dict[str, str]:
    headers = {"content-type": "application/json"}
    if scheme in ("rsa", "both"):
        headers["x-wh-signature"] = keys.rsa_signature(body)
    if scheme in ("ed25519", "both"):
        headers["x-ghl-signature"] = keys.ed25519_signature(body)
    return headers
