"""Documented webhook samples, made into deliveries signed the way each provider signs (`hookline webhooks send`).

The JSON files beside this module are the providers' documented bodies (README.md says where
each came from). A delivery made from one gets the tenant's account id and fresh ids and
timestamps, so that each send is a new event inside the replay window.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.resources import files
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hookline.integrations.ghl.verify import ED25519_HEADER
from hookline.integrations.payments.verify import HEADER as STRIPE_HEADER
from hookline.integrations.reonic.verify import SCHEME as REONIC
from hookline.integrations.signing import hmac_sha256_hex
from hookline.integrations.zoom.verify import SCHEME as ZOOM


@dataclass(frozen=True)
class Sample:
    name: str  # the event type, as the provider names it
    provider: str
    file: str

    def body(self) -> dict[str, Any]:
        return json.loads(files(__name__).joinpath(self.file).read_text())


SAMPLES = {sample.name: sample for sample in (
    Sample("ContactCreate", "ghl", "ghl_ContactCreate.json"),
    Sample("OpportunityStatusUpdate", "ghl", "ghl_OpportunityStatusUpdate.json"),
    Sample("recording.completed", "zoom", "zoom_recording.completed.json"),
    Sample("residentialOffer_signed", "reonic", "reonic_residentialOffer_signed.json"),
    Sample("invoice.paid", "payments", "payments_invoice.paid.json"),
)}


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes


def ghl(sample: Sample, location_id: str, key: Ed25519PrivateKey, now: float) -> Delivery:
    """Ed25519 over the raw body in `x-ghl-signature`; `timestamp` and `webhookId` as signed deliveries carry them."""
    payload = {**sample.body(), "locationId": location_id, "webhookId": str(uuid.uuid4()),
               "timestamp": datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="milliseconds")}
    body = json.dumps(payload).encode()
    return Delivery("/webhooks/ghl", {ED25519_HEADER: base64.b64encode(key.sign(body)).decode()}, body)


def zoom(sample: Sample, account_id: str, secret: str, now: float) -> Delivery:
    payload = sample.body()
    payload["payload"]["account_id"] = account_id
    payload["event_ts"] = int(now * 1000)  # with the recording's id, Zoom's event's identity here
    body, at = json.dumps(payload).encode(), int(now)
    return Delivery("/webhooks/zoom", {ZOOM.timestamp_header: str(at), ZOOM.signature_header: ZOOM.sign(secret, at, body)},
                    body)


def reonic(sample: Sample, client_id: str, secret: str, now: float) -> Delivery:
    payload = {**sample.body(), "occurredAt": datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="milliseconds")}
    body, at = json.dumps(payload).encode(), int(now)
    return Delivery("/webhooks/reonic", {
        "x-reonic-client-id": client_id, "x-reonic-event-id": str(uuid.uuid4()), "x-reonic-event": sample.name,
        REONIC.timestamp_header: str(at), REONIC.signature_header: REONIC.sign(secret, at, body)}, body)


def payments(sample: Sample, token: str, secret: str, now: float) -> Delivery:
    """Stripe style: `t=<unix>,v1=<hex HMAC of '{t}.{body}'>`; the URL token names the connection."""
    payload = {**sample.body(), "id": f"evt_dev_{uuid.uuid4().hex[:16]}", "created": int(now)}
    body, at = json.dumps(payload).encode(), int(now)
    signature = f"t={at},v1={hmac_sha256_hex(secret, f'{at}.'.encode() + body)}"
    return Delivery(f"/webhooks/payments/{token}", {STRIPE_HEADER: signature}, body)


def delivery(sample: Sample, account_id: str, signing: str | Ed25519PrivateKey, now: float | None = None) -> Delivery:
    """`sample` for the connection `account_id`, signed with its secret (GoHighLevel: the private key)."""
    makers: dict[str, Callable[..., Delivery]] = {"ghl": ghl, "zoom": zoom, "reonic": reonic, "payments": payments}
    make = makers[sample.provider]
    made = make(sample, account_id, signing, time.time() if now is None else now)
    return Delivery(made.path, {"content-type": "application/json", **made.headers}, made.body)
