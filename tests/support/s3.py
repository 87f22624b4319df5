"""A real S3-compatible server on loopback (moto's server mode) and a client for it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
KEY_ID, SECRET = "test-key-id", "test-secret-key"


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=KEY_ID,
                            aws_secret_access_key=SECRET, config=Config(s3={"addressing_style": "path"}))

    def new_bucket(self) -> str:
        bucket = f"rec-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=bucket)
        return bucket

    def env(self, bucket: str) -> dict[str, str]:
        """The settings that point Hookline at this server and bucket."""
        return {"HOOKLINE_STORAGE_BACKEND": "s3", "HOOKLINE_S3_ENDPOINT_URL": self.endpoint,
                "HOOKLINE_S3_BUCKET": bucket, "HOOKLINE_S3_REGION": REGION,
                "HOOKLINE_S3_ACCESS_KEY_ID": KEY_ID, "HOOKLINE_S3_SECRET_ACCESS_KEY": SECRET}


@contextmanager
def s3_server() -> Iterator[S3Server]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield S3Server(f"http://{host}:{port}")
    finally:
        server.stop()


def pending_uploads(client, bucket: str) -> list[str]:
    """Keys with a multipart upload begun and neither completed nor aborted."""
    return [upload["Key"] for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
