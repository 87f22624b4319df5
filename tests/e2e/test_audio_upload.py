"""Recordings uploaded by a real Celery worker process: bounded memory, a SIGKILL mid-upload, a webhook end to end."""

import os
import signal
import uuid

import httpx
import psutil
import pytest

from hookline.db import global_session, tenant_session
from hookline.integrations.storage.s3 import S3Storage
from hookline.services import recordings
from hookline.services.tenants import add_connection
from hookline.tasks.audio_upload import upload_recording
from hookline.tasks.maintenance import sweep_recordings
from hookline.workers.app import app
from tests.support.ingress import BIN
from tests.support.processes import running, wait_for
from tests.support.s3 import pending_uploads, s3_server
from tests.support.sources import RecordingSource, sha256_of
from tests.support.webhooks import encode, ghl_headers, shared, zoom_headers

MIB = 1024 * 1024
PART_MB = 8


@pytest.fixture(scope="module")
def s3():
    with s3_server() as server:
        yield server


@pytest.fixture(scope="module")
def bucket(s3):
    return s3.new_bucket()


@pytest.fixture(scope="module")
def source():
    with RecordingSource() as server:
        yield server


@pytest.fixture(scope="module")
def audio_worker(database, redis_client, s3, bucket, tmp_path_factory):
    """A worker on audio_upload as the Procfile runs it (prefetch 1), with one child so it can be measured."""
    redis_client.delete("audio_upload")
    name = f"e2e-audio-{uuid.uuid4().hex[:8]}@localhost"
    log = tmp_path_factory.mktemp("worker") / "audio-worker.log"
    command = [str(BIN / "celery"), "-A", "hookline.workers.app", "worker", "-n", name, "-Q", "audio_upload",
               "--concurrency", "1", "--prefetch-multiplier", "1", "--without-mingle", "--without-gossip",
               "--loglevel", "INFO"]
    env = {**s3.env(bucket), "HOOKLINE_S3_PART_SIZE_MB": str(PART_MB), "HOOKLINE_AUDIO_RETRY_BACKOFF_SECONDS": "0.5"}
    with running(command, log=log, env=env) as process:
        # A generous wait: first in the suite, on a busy machine, a cold worker can take over 30 s to start.
        wait_for(lambda: app.control.ping(destination=[name], timeout=0.5) or process.poll() is not None,
                 timeout=120, what=f"worker {name}")
        assert process.poll() is None, log.read_text()
        yield process
    redis_client.delete("audio_upload")


def pool_child(worker) -> psutil.Process:
    [child] = psutil.Process(worker.pid).children()
    return child


def peak_rss_reset(pid: int) -> None:
    """Start the child's high-water mark (VmHWM) afresh from its current size (Linux: clear_refs 5)."""
    with open(f"/proc/{pid}/clear_refs", "w") as refs:
        refs.write("5")


def vm_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(f"{field}:"))


def register_call(tenant_id, url, message_id):
    body = {**shared("ghl_InboundMessage_call.json"), "attachments": [url], "messageId": message_id}
    with tenant_session(tenant_id) as session:
        [recording_id] = recordings.register_from_ghl_message(session, tenant_id, body)
    return recording_id


def recording(tenant_id, recording_id):
    with tenant_session(tenant_id) as session:
        return recordings.get(session, tenant_id, recording_id)


def stored(tenant_id, recording_id):
    row = recording(tenant_id, recording_id)
    assert row.status != "failed", row.last_error
    return row.status == "stored"


def test_a_500_mb_recording_is_uploaded_with_bounded_memory_and_the_right_checksum(
        audio_worker, tenant, source, s3, bucket):
    size = 500 * 1000 * 1000
    recording_id = register_call(tenant.id, source.add("/calls/big.m4a", size), "msg-big")
    child = pool_child(audio_worker)
    peak_rss_reset(child.pid)
    idle_kib = vm_kib(child.pid, "VmRSS")

    upload_recording.apply_async(kwargs={"tenant_id": tenant.id, "recording_id": recording_id})
    wait_for(lambda: stored(tenant.id, recording_id), timeout=240, what="the 500 MB upload")

    assert pool_child(audio_worker).pid == child.pid  # the same child did it, so its high-water mark counts
    grown_mib = (vm_kib(child.pid, "VmHWM") - idle_kib) / 1024
    print(f"\nworker child: idle {idle_kib / 1024:.1f} MiB, peak +{grown_mib:.1f} MiB for {size / 1e6:.0f} MB")
    assert grown_mib < 64
    row = recording(tenant.id, recording_id)
    assert (row.size_bytes, row.sha256) == (size, sha256_of(size))
    assert s3.client().head_object(Bucket=bucket, Key=row.object_key)["ContentLength"] == size


def test_a_worker_killed_mid_upload_is_retried_into_exactly_one_object(audio_worker, tenant, source, s3, bucket):
    size = 40 * MIB
    url = source.add("/calls/killed.m4a", size, hold_after=3 * PART_MB * MIB + MIB)
    recording_id = register_call(tenant.id, url, "msg-killed")
    key = recording(tenant.id, recording_id).object_key
    client = s3.client()

    def parts_uploaded():
        uploads = client.list_multipart_uploads(Bucket=bucket, Prefix=key).get("Uploads", [])
        return uploads and len(client.list_parts(Bucket=bucket, Key=key, UploadId=uploads[0]["UploadId"])
                               .get("Parts", [])) >= 3

    upload_recording.apply_async(kwargs={"tenant_id": tenant.id, "recording_id": recording_id})
    wait_for(parts_uploaded, timeout=60, what="three parts uploaded")
    assert recording(tenant.id, recording_id).status == "uploading"
    os.kill(pool_child(audio_worker).pid, signal.SIGKILL)
    source.routes["/calls/killed.m4a"].release.set()

    wait_for(lambda: stored(tenant.id, recording_id), timeout=60, what="the redelivered upload")
    row = recording(tenant.id, recording_id)
    assert (row.attempts, row.size_bytes, row.sha256) == (2, size, sha256_of(size))
    assert S3Storage(client, bucket).keys(f"{tenant.id}/") == [key]
    assert pending_uploads(client, bucket) == []
    assert source.routes["/calls/killed.m4a"].requests == 2


def test_a_recording_whose_upload_was_never_published_is_uploaded_after_the_sweep(
        audio_worker, tenant, source, s3, bucket):
    # register_recordings' worker died after its commit: a pending row, and no task anywhere.
    recording_id = register_call(tenant.id, source.add("/calls/stranded.m4a", MIB + 7), "msg-stranded")

    assert sweep_recordings(older_than_seconds=3600) == 0  # not idle long enough yet
    assert sweep_recordings(older_than_seconds=0) == 1

    wait_for(lambda: stored(tenant.id, recording_id), timeout=60, what="the swept upload")
    row = recording(tenant.id, recording_id)
    assert (row.attempts, row.size_bytes, row.sha256) == (1, MIB + 7, sha256_of(MIB + 7))
    assert s3.client().head_object(Bucket=bucket, Key=row.object_key)["ContentLength"] == MIB + 7
    assert sweep_recordings(older_than_seconds=0) == 0  # stored: nothing left to sweep


def test_a_ghl_call_webhook_ends_as_a_stored_recording(audio_worker, ingress_url, tenant, source, s3, bucket):
    url = source.add("/calls/webhook.wav", 3 * MIB + 11, content_type="audio/x-wav")
    body = {**shared("ghl_InboundMessage_call.json"), "locationId": "loc-sunny-001", "attachments": [url]}
    raw = encode(body)

    answers = [httpx.post(f"{ingress_url}/webhooks/ghl", content=raw, headers=ghl_headers(raw), timeout=10)
               for _ in range(2)]

    assert [answer.status_code for answer in answers] == [202, 200]

    def only_recording():
        with tenant_session(tenant.id) as session:
            rows = recordings.recent(session, tenant.id)
        return rows if rows and rows[0].status == "stored" else None

    [row] = wait_for(only_recording, timeout=60, what="the recording stored")
    assert (row.source, row.contact_external_id, row.content_type, row.sha256) == (
        "ghl", "gblakL5aYQC4glDtP1r2t3", "audio/x-wav", sha256_of(3 * MIB + 11))
    assert s3.client().head_object(Bucket=bucket, Key=row.object_key)["ContentLength"] == 3 * MIB + 11


def test_a_zoom_recording_webhook_stores_every_file_with_the_download_token(
        audio_worker, ingress_url, tenant, source, s3, bucket):
    with global_session() as session:
        add_connection(session, tenant.id, "zoom", "zoom-acct-e2e", secrets={"webhook_secret": "zoom-e2e-secret"})
    body = shared("zoom_recording.completed.json")
    body["payload"]["account_id"] = "zoom-acct-e2e"
    for number, file in enumerate(body["payload"]["object"]["recording_files"]):
        file["download_url"] = source.add(f"/zoom/{number}", MIB * (number + 1), token=body["download_token"])
    raw = encode(body)

    answer = httpx.post(f"{ingress_url}/webhooks/zoom", content=raw,
                        headers=zoom_headers(raw, secret="zoom-e2e-secret"), timeout=10)

    assert answer.status_code == 202

    def all_stored():
        with tenant_session(tenant.id) as session:
            rows = [r for r in recordings.recent(session, tenant.id) if r.source == "zoom"]
        return rows if len(rows) == 2 and all(r.status == "stored" for r in rows) else None

    rows = sorted(wait_for(all_stored, timeout=60, what="both Zoom files stored"), key=lambda r: r.size_bytes)
    assert [(r.extension, r.size_bytes, r.sha256) for r in rows] == [
        ("m4a", MIB, sha256_of(MIB)), ("mp4", 2 * MIB, sha256_of(2 * MIB))]
