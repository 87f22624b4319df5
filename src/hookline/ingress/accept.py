"""The part every webhook route shares: the delivery, reading the body, parsing it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from hookline.ingress.errors import WebhookRejected

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class Delivery:
    """A verified webhook, its tenant known: what the inbox stores."""

    tenant_id: int
    provider: str
    event_type: str
    dedupe_key: str
    payload: dict[str, Any]
    # The body `payload` was parsed from (parse_object), stored as it came: re-serialising the
    # payload cost a json.dumps per webhook. None: store `payload` serialised (a form's fields).
    body: bytes | None = field(default=None, repr=False)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_body(request: Request, limit: int, accepted: tuple[str, ...] = (JSON,)) -> bytes:
    """The raw body: 415 for a content type not in `accepted`, 413 past `limit` bytes without reading it all."""
    kind = media_type(request)
    if kind not in accepted:
        raise WebhookRejected(415, "unsupported_media_type",
                              f"content type must be {' or '.join(accepted)}, got {kind or 'none'!r}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise WebhookRejected(413, "payload_too_large", f"body exceeds {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise WebhookRejected(413, "payload_too_large", f"body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


# PostgreSQL's numeric keeps at most this many digits after the decimal point; JSONB stores
# the body's own text (`Delivery.body`), so a number past it would fail the insert, not the parse.
MAX_DECIMAL_PLACES = 16383


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number {text[:20]} is out of range")
    mantissa, _, exponent = text.lower().partition("e")
    if len(mantissa.partition(".")[2]) - int(exponent or 0) > MAX_DECIMAL_PLACES:
        raise ValueError(f"number {text[:20]} has more than {MAX_DECIMAL_PLACES} decimal places")
    return value


def _storable(payload: Any) -> None:
    """Refuse what JSONB cannot hold: NUL characters and lone surrogates, in keys or values."""
    pending = [payload]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                raise ValueError("strings may not contain \\u0000")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("strings may not contain unpaired surrogates") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are all different: with a duplicate, senders and parsers disagree on the value."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key[:50]!r}")
            seen.add(key)
    return obj


def _utf8(body: bytes, what: str) -> str:
    # JSON on the wire is UTF-8 (RFC 8259 §8.1); json.loads(bytes) would also guess UTF-16/32.
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebhookRejected(400, f"invalid_{what}", f"body is not UTF-8 (byte {exc.start})") from None


def parse_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object that PostgreSQL can store, else 400."""
    text = _utf8(body, "json")
    try:
        payload = json.loads(text, parse_constant=_no_constants, parse_float=_finite, object_pairs_hook=_unique_keys)
        # A NUL or a lone surrogate can only come from a \u escape: the body is valid UTF-8 and
        # json.loads refuses raw control characters. Without one, the walk over every string is skipped.
        if "\\u" in text:
            _storable(payload)
    except (ValueError, RecursionError) as exc:
        raise WebhookRejected(400, "invalid_json", f"body is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(payload, dict):
        raise WebhookRejected(400, "invalid_json", "body must be a JSON object")
    return payload


def parse_form(body: bytes) -> dict[str, Any]:
    """An urlencoded form as an object: single values as strings, repeated fields as lists."""
    text = _utf8(body, "form")
    try:
        fields = parse_qs(text, keep_blank_values=True, strict_parsing=False, max_num_fields=1000)
        payload = {key: values[0] if len(values) == 1 else values for key, values in fields.items()}
        _storable(payload)
    except ValueError as exc:
        raise WebhookRejected(400, "invalid_form", f"body is not a valid urlencoded form: {str(exc)[:200]}") from None
    return payload


def body_hash(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def required_text(value: Any, name: str, *, status: int = 422, max_length: int = 200) -> str:
    """A non-empty string field or header of bounded length, else a clear 4xx naming it."""
    if not isinstance(value, str) or not value.strip():
        raise WebhookRejected(status, "missing_field", f"{name} is required")
    if len(value) > max_length:
        raise WebhookRejected(status, "invalid_field", f"{name} is longer than {max_length} characters")
    return value.strip()


def validated(schema: type[ModelT], payload: dict) -> ModelT:
    """The payload as `schema` (a handler's), or a 422 naming the first few bad fields."""
    try:
        return schema.model_validate(payload)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:5])
        raise WebhookRejected(422, "invalid_payload", detail) from None
