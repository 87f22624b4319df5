"""Recordings in S3-compatible storage (AWS S3, Cloudflare R2, MinIO, GCS's S3 endpoint) via boto3.

boto3 is the reference S3 client that R2, MinIO and GCS document for their S3 APIs, and it
signs, retries throttled calls and parses errors for us. We drive its multipart calls ourselves
rather than `upload_fileobj`: the managed transfer completes the upload as soon as the stream
ends, whereas we complete only after the whole stream was read and every part's SHA-256 was
accepted, and abort otherwise. One part is in memory at a time (`part_size`), whatever the
file's size.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import Any

import boto3
import structlog
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from hookline.config import Settings
from hookline.integrations.errors import TransientError
from hookline.integrations.storage import Digest, StoredObject

log = structlog.get_logger(__name__)


def make_client(settings: Settings) -> Any:
    secret = settings.s3_secret_access_key
    key_id = settings.s3_access_key_id
    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=key_id.get_secret_value() if key_id else None,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
        # Path-style addressing works on every S3-compatible server (MinIO and moto need it).
        config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard", "max_attempts": 5},
                      connect_timeout=10, read_timeout=120),
    )


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


class S3Storage:
    def __init__(self, client: Any, bucket: str, *, part_size: int = 8 * 1024 * 1024) -> None:
        self.client, self.bucket, self.part_size = client, bucket, part_size

    def write(self, key: str, chunks: Iterable[bytes], *, content_type: str) -> StoredObject:
        digest = Digest()
        try:
            upload_id = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=key, ContentType=content_type, ChecksumAlgorithm="SHA256")["UploadId"]
        except (BotoCoreError, ClientError) as exc:
            raise TransientError(f"s3: cannot start upload of {key}: {exc}") from exc
        try:
            parts, part_digests = self._send_parts(key, upload_id, digest.passing(chunks))
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
        except BaseException as exc:  # a failed stream, a refused part, a soft time limit: no object
            self._abort(key, upload_id)
            if isinstance(exc, (BotoCoreError, ClientError)):
                raise TransientError(f"s3: upload of {key} failed: {exc}") from exc
            raise
        self._verify(key, digest, part_digests)
        return digest.result(key)

    def _send_parts(self, key: str, upload_id: str, chunks: Iterable[bytes]) -> tuple[list[dict], list[bytes]]:
        parts: list[dict[str, Any]] = []
        digests: list[bytes] = []
        # One buffer, filled and sent over and over: no per-part allocation, no copies of a part.
        part, filled = bytearray(self.part_size), 0

        def send(body: bytes | bytearray) -> None:
            sha = hashlib.sha256(body).digest()
            # The store recomputes each part's SHA-256 and refuses a part that does not match.
            answer = self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                             PartNumber=len(parts) + 1, Body=body,
                                             ChecksumAlgorithm="SHA256", ChecksumSHA256=_b64(sha))
            parts.append({"PartNumber": len(parts) + 1, "ETag": answer["ETag"], "ChecksumSHA256": _b64(sha)})
            digests.append(sha)

        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                taken = min(len(view), self.part_size - filled)
                part[filled:filled + taken] = view[:taken]
                filled, view = filled + taken, view[taken:]
                if filled == self.part_size:
                    send(part)
                    filled = 0
        if filled or not parts:  # the last part may be short (or empty, for an empty file)
            send(bytes(part[:filled]))
        return parts, digests

    def _verify(self, key: str, digest: Digest, part_digests: list[bytes]) -> None:
        """The stored object's size and composite SHA-256 (over the parts' digests) must be ours."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        except (BotoCoreError, ClientError) as exc:
            raise TransientError(f"s3: cannot check {key} after upload: {exc}") from exc
        composite = _b64(hashlib.sha256(b"".join(part_digests)).digest())
        stored = (head.get("ChecksumSHA256") or "").split("-")[0]
        if head["ContentLength"] != digest.size or (stored and stored != composite):
            self.client.delete_object(Bucket=self.bucket, Key=key)
            raise TransientError(f"s3: {key} does not hold what was sent (size or SHA-256 differs); deleted")

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except (BotoCoreError, ClientError) as exc:  # the next attempt's discard_partial() aborts it again
            log.warning("storage.s3.abort_failed", key=key, error=str(exc))

    def discard_partial(self, key: str) -> int:
        try:
            answer = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=key)
            stale = [u for u in answer.get("Uploads", []) if u["Key"] == key]
            for upload in stale:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload["UploadId"])
        except (BotoCoreError, ClientError) as exc:
            raise TransientError(f"s3: cannot clean up earlier uploads of {key}: {exc}") from exc
        return len(stale)

    def keys(self, prefix: str) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))
