"""Object storage for recordings: a local directory (embedded default) or any S3-compatible store.

Both backends write atomically: an object under its final key is always complete. A write that
fails or is killed leaves at most a partial upload that `discard_partial(key)` removes (the next
attempt calls it first), never a second object: keys are deterministic, so a retry overwrites.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from hookline.config import Settings


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str  # hex digest of every byte written, verified against what the store holds


class Storage(Protocol):
    def write(self, key: str, chunks: Iterable[bytes], *, content_type: str) -> StoredObject:
        """Store the stream under `key`, all of it or nothing; raises TransientError on failure."""

    def discard_partial(self, key: str) -> int:
        """Remove what an interrupted write to `key` left behind; returns how many pieces."""

    def keys(self, prefix: str) -> list[str]:
        """Every complete object whose key starts with `prefix`."""


class Digest:
    """SHA-256 and byte count of a stream, taken as it passes through."""

    def __init__(self) -> None:
        self.sha256, self.size = hashlib.sha256(), 0

    def passing(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            if chunk:
                self.sha256.update(chunk)
                self.size += len(chunk)
                yield chunk

    def result(self, key: str) -> StoredObject:
        return StoredObject(key, self.size, self.sha256.hexdigest())


def make_storage(settings: Settings) -> Storage:
    """The backend the settings choose (HOOKLINE_STORAGE_BACKEND)."""
    if settings.storage_backend == "s3":
        from hookline.integrations.storage.s3 import S3Storage, make_client

        return S3Storage(make_client(settings), settings.s3_bucket or "", part_size=settings.s3_part_size_mb * 1024 * 1024)
    from hookline.integrations.storage.local import LocalStorage

    return LocalStorage(settings.storage_root)


def link(settings: Settings, key: str) -> str:
    """Where a stored object can be found, for people (a CRM note): HOOKLINE_RECORDING_LINK_BASE + key,
    else the store's own address. Never a presigned URL: a note outlives any signature's expiry."""
    if settings.recording_link_base:
        return f"{settings.recording_link_base.rstrip('/')}/{key}"
    if settings.storage_backend == "s3":
        return f"s3://{settings.s3_bucket}/{key}"
    return (settings.storage_root / key).resolve().as_uri()
