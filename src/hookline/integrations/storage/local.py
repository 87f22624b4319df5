"""Recordings in a local directory: written to a temporary file beside the target, then renamed."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from pathlib import Path

from hookline.integrations.errors import TransientError
from hookline.integrations.storage import Digest, StoredObject

PARTIAL = ".part"


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"storage key leaves the storage directory: {key!r}")
        return path

    def write(self, key: str, chunks: Iterable[bytes], *, content_type: str) -> StoredObject:
        target = self.path(key)
        # A rename within one directory is atomic: readers see the old object or the whole new one.
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}{PARTIAL}")
        digest = Digest()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with partial.open("wb") as out:
                for chunk in digest.passing(chunks):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, target)
            _fsync_dir(target.parent)
        except OSError as exc:
            raise TransientError(f"local storage: cannot write {key}: {exc.strerror or exc}") from exc
        finally:
            partial.unlink(missing_ok=True)
        if target.stat().st_size != digest.size:
            raise TransientError(f"local storage: {key} holds {target.stat().st_size} bytes, {digest.size} written")
        return digest.result(key)

    def discard_partial(self, key: str) -> int:
        target = self.path(key)
        if not target.parent.is_dir():
            return 0
        leftovers = list(target.parent.glob(f".{target.name}.*{PARTIAL}"))
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)
        return len(leftovers)

    def keys(self, prefix: str) -> list[str]:
        if not self.root.is_dir():
            return []
        found = (p.relative_to(self.root).as_posix() for p in self.root.rglob("*")
                 if p.is_file() and not p.name.endswith(PARTIAL))
        return sorted(key for key in found if key.startswith(prefix))


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX: the directory entry lives in the directory)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
