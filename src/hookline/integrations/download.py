"""Stream a recording from its source URL (Zoom, GoHighLevel) in chunks: never the whole file in memory."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import httpx

from hookline.integrations.errors import RejectedError, TransientError

CHUNK_BYTES = 1024 * 1024
# Connect fast, but give a slow CDN a minute between two chunks before calling it a timeout.
TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=10.0)
GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream", "application/binary"}
# What mimetypes does not know (or guesses wrongly) for recording formats.
TYPES_BY_EXTENSION = {"m4a": "audio/mp4", "mp4": "video/mp4", "wav": "audio/wav", "mp3": "audio/mpeg",
                      "vtt": "text/vtt", "ogg": "audio/ogg", "webm": "audio/webm"}


@dataclass(frozen=True)
class Download:
    content_type: str
    chunks: Iterator[bytes]


def content_type_for(header: str | None, extension: str) -> str:
    """The source's Content-Type, unless it is a generic one; then the type the extension implies."""
    declared = (header or "").split(";")[0].strip().lower()
    if declared not in GENERIC_TYPES:
        return declared
    return TYPES_BY_EXTENSION.get(extension) or mimetypes.guess_type(f"x.{extension}")[0] or "application/octet-stream"


def shown(url: str) -> str:
    """The URL without its query string, which may carry a signature: safe for logs and errors."""
    return str(httpx.URL(url).copy_with(query=None, fragment=None))


@contextmanager
def stream(url: str, *, bearer: str | None, extension: str, client: httpx.Client | None = None) -> Iterator[Download]:
    """Open the source; 401/403/404/410 and other 4xx raise RejectedError, 429/5xx/timeouts TransientError.

    `bearer` is Zoom's 24-hour download_token or a provider token; httpx drops it when a redirect
    leaves the source's host (Zoom redirects downloads to its CDN).
    """
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=True)
    try:
        with http.stream("GET", url, headers=headers) as response:
            _raise_for_status(response, url)
            yield Download(content_type_for(response.headers.get("content-type"), extension), _chunks(response, url))
    except httpx.TransportError as exc:  # connect errors, timeouts, a body cut short
        raise TransientError(f"download {shown(url)}: {type(exc).__name__}") from None
    finally:
        if own:
            http.close()


def _chunks(response: httpx.Response, url: str) -> Iterator[bytes]:
    try:
        yield from response.iter_bytes(CHUNK_BYTES)
    except httpx.TransportError as exc:
        raise TransientError(f"download {shown(url)} broke off: {type(exc).__name__}") from None


def _raise_for_status(response: httpx.Response, url: str) -> None:
    status = response.status_code
    if status == 429 or status >= 500:
        raise TransientError(f"download {shown(url)}: HTTP {status}")
    if status >= 400:
        # 401/403 is typically Zoom's download_token expired (24 h): retrying will not help.
        raise RejectedError(f"download {shown(url)}: HTTP {status}")


@dataclass(frozen=True)
class RemoteRecording:
    """One file a provider says is ready for download, in provider-neutral terms (schemas.py build these)."""

    source: str  # "zoom", "zoom_phone", "ghl"
    external_id: str  # the provider's id of this file: unique per tenant and source
    url: str
    extension: str  # lower-case letters and digits only: it ends the object key
    parent_external_id: str | None = None  # the meeting, call or message the file belongs to
    recorded_at: datetime | None = None
    duration_seconds: int | None = None
    contact_external_id: str | None = None
    appointment_external_id: str | None = None


def safe_extension(*candidates: str | None, default: str) -> str:
    """The first candidate that is a plain extension (`M4A`, `.wav`), lower-cased; else `default`."""
    for candidate in candidates:
        value = (candidate or "").strip().lstrip(".").lower()
        if value.isascii() and value.isalnum() and len(value) <= 8:
            return value
    return default


def url_extension(url: str) -> str | None:
    """`wav` for https://host/path/file.wav?sig=…; None when the path has no suffix."""
    name = httpx.URL(url).path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[1] if "." in name else None

