"""Distinct, validly signed GoHighLevel ContactCreate deliveries, generated once and cached."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

# GoHighLevel signs every webhook with Ed25519 in `x-ghl-signature` (INTEGRATIONS.md section 0), and
# the ingress accepts nothing else by default. Until 2026-12-07 the bench signed with RSA-4096 in the
# legacy `x-wh-signature`: bench/README.md's figures up to then are for those sets.
HEADER = "x-ghl-signature"
LOCATION_ID = "loc-bench"
CACHE_DIR = Path(os.environ.get("HOOKLINE_BENCH_CACHE", Path.home() / ".cache" / "hookline-bench"))

# A ContactCreate in the documented shape (tests/fixtures/ghl/ContactCreate.json), about 900 bytes.
TEMPLATE = {
    "type": "ContactCreate",
    "locationId": LOCATION_ID,
    "webhookId": "",
    "timestamp": "",  # when the set was signed: the ingress refuses stale ones outside its replay window
    "id": "",
    "address1": "Sonnenallee 12",
    "city": "Berlin",
    "state": "BE",
    "companyName": "Lindqvist Haustechnik",
    "country": "DE",
    "source": "solar calculator form",
    "dateAdded": "2026-11-20T09:15:00.000Z",
    "dateOfBirth": "1984-03-02T00:00:00.000Z",
    "dnd": False,
    "email": "",
    "name": "Ana Lindqvist",
    "firstName": "Ana",
    "lastName": "Lindqvist",
    "phone": "+4915112345678",
    "postalCode": "12045",
    "tags": ["solar", "roof-south"],
    "website": "https://lindqvist.example.com/",
    "attachments": [],
    "assignedTo": "usr-sales-07",
    "customFields": [{"id": "cf-roof-area", "value": "64"}],
}


@dataclass(frozen=True)
class SignedRequests:
    """A file of `signature<TAB>body` lines, the PEM of the public key that verifies them, and the bench's
    private key that signed them (made for the bench, nothing else trusts it), to sign more alike."""

    path: Path
    public_pem: str
    private_pem: str
    count: int

    def sign(self, body: bytes) -> str:
        key = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        return base64.b64encode(key.sign(body)).decode()  # type: ignore[union-attr,call-arg]

    @property
    def age_seconds(self) -> float:
        """How long ago the set was signed: every body's `timestamp` is that old."""
        return time.time() - self.path.stat().st_mtime

    def load(self) -> list[tuple[str, bytes]]:
        items = []
        with self.path.open("rb") as lines:
            for line in lines:
                signature, body = line.rstrip(b"\n").split(b"\t", 1)
                items.append((signature.decode(), body))
        return items


def body(index: int, timestamp: str) -> bytes:
    # Unique webhookId (the ingress's dedupe key) and contact id; compact JSON, no tab or newline.
    data = {**TEMPLATE, "webhookId": str(uuid.uuid4()), "timestamp": timestamp, "id": f"ct-bench-{index:08d}",
            "email": f"lead{index}@example.com"}
    return json.dumps(data, separators=(",", ":")).encode()


_key: ed25519.Ed25519PrivateKey | None = None
_timestamp = ""


def _init_worker(private_pem: bytes, timestamp: str) -> None:
    global _key, _timestamp
    _key = serialization.load_pem_private_key(private_pem, password=None)  # type: ignore[assignment]
    _timestamp = timestamp


def _sign_range(bounds: tuple[int, int]) -> bytes:
    """`x-ghl-signature` as GoHighLevel sends it: base64 Ed25519 of the raw body."""
    assert _key is not None
    lines = []
    for index in range(*bounds):
        data = body(index, _timestamp)
        signature = base64.b64encode(_key.sign(data))
        lines.append(signature + b"\t" + data + b"\n")
    return b"".join(lines)


def signed_requests(count: int) -> SignedRequests:
    """The cached set of `count` deliveries, generated (on every core) when there is none yet.

    Webhook ids only have to be unique within one database, and every bench run makes a new one,
    so a cached set is reused across runs; only the public key travels with it.
    """
    path = CACHE_DIR / f"ghl-contactcreate-{count}-ed25519.tsv"
    pem_path, key_path = path.with_suffix(".pem"), path.with_suffix(".key")
    if path.is_file() and pem_path.is_file() and key_path.is_file():
        return SignedRequests(path, pem_path.read_text(), key_path.read_text(), count)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print(f"signing {count} webhooks with a new Ed25519 key (once; cached in {CACHE_DIR}) ...", flush=True)
    key = ed25519.Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    chunk = 2_000
    ranges = [(start, min(start + chunk, count)) for start in range(0, count, chunk)]
    partial = path.with_suffix(f".tmp{os.getpid()}")
    timestamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    with ProcessPoolExecutor(os.cpu_count(), initializer=_init_worker, initargs=(private_pem, timestamp)) as pool, \
            partial.open("wb") as out:
        for lines in pool.map(_sign_range, ranges):
            out.write(lines)
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    pem_path.write_text(public_pem)
    key_path.write_bytes(private_pem)
    partial.rename(path)  # last: a set interrupted half-way is never taken for a complete one
    print(f"signed {count} webhooks in {time.monotonic() - started:.0f} s", flush=True)
    return SignedRequests(path, public_pem, private_pem.decode(), count)
