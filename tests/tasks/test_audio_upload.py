"""The audio_upload tasks called in-process, against real PostgreSQL, Redis, moto's S3 server and a source server."""

import json

import pytest
from sqlalchemy import select

from hookline.config import get_settings
from hookline.db import tenant_session
from hookline.models import Recording, WebhookEvent
from hookline.services import inbox, recordings
from hookline.tasks import audio_upload
from tests.support.s3 import pending_uploads, s3_server
from tests.support.sources import RecordingSource, sha256_of
from tests.support.webhooks import shared

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def s3():
    with s3_server() as server:
        yield server


@pytest.fixture()
def source():
    with RecordingSource() as server:
        yield server


@pytest.fixture()
def configure(monkeypatch):
    """Point the settings (and so the task's storage) at `env`; restored after the test."""
    def apply(**env):
        for name, value in env.items():
            monkeypatch.setenv(name, str(value))
        get_settings.cache_clear()
        audio_upload.storage.cache_clear()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()
    audio_upload.storage.cache_clear()


@pytest.fixture()
def bucket(s3, configure):
    name = s3.new_bucket()
    configure(**s3.env(name), HOOKLINE_S3_PART_SIZE_MB=5)
    return name


@pytest.fixture()
def local_dir(tmp_path, configure):
    configure(HOOKLINE_STORAGE_BACKEND="local", HOOKLINE_STORAGE_DIR=tmp_path)
    return tmp_path


@pytest.fixture()
def upload_queue(redis_client):
    redis_client.delete("audio_upload")
    yield lambda: [json.loads(raw)["headers"]["kwargsrepr"] for raw in redis_client.lrange("audio_upload", 0, -1)]
    redis_client.delete("audio_upload")


def ghl_call(*urls):
    return {**shared("ghl_InboundMessage_call.json"), "attachments": list(urls)}


def registered(tenant_id, payload):
    with tenant_session(tenant_id) as session:
        return recordings.register_from_ghl_message(session, tenant_id, payload)


def recording(tenant_id, recording_id):
    with tenant_session(tenant_id) as session:
        return recordings.get(session, tenant_id, recording_id)


def upload(tenant_id, recording_id):
    """As a worker runs it, retries included (eager retries run at once, without the countdown)."""
    return audio_upload.upload_recording.apply(kwargs={"tenant_id": tenant_id, "recording_id": recording_id})


def test_a_recording_is_streamed_to_s3_with_its_checksum_type_and_duration(tenant, source, s3, bucket):
    size = 13 * MIB + 7
    [recording_id] = registered(tenant.id, ghl_call(source.add("/calls/one.wav", size, content_type="audio/x-wav")))

    upload(tenant.id, recording_id).get()

    row = recording(tenant.id, recording_id)
    assert (row.status, row.size_bytes, row.sha256, row.content_type, row.duration_seconds, row.attempts) == (
        "stored", size, sha256_of(size), "audio/x-wav", 120, 1)
    assert s3.client().head_object(Bucket=bucket, Key=row.object_key)["ContentLength"] == size
    assert row.object_key == f"{tenant.id}/recordings/2024/05/{recording_id}.wav"


def test_a_ghl_recording_given_a_token_is_fetched_with_it(tenant, source, local_dir):
    url = source.add("/calls/private.wav", MIB, token="location-token")
    with tenant_session(tenant.id) as session:
        [recording_id] = recordings.register_from_ghl_message(session, tenant.id, ghl_call(url), token="location-token")

    upload(tenant.id, recording_id).get()

    assert recording(tenant.id, recording_id).status == "stored"
    assert source.routes["/calls/private.wav"].requests == 1


def test_zoom_downloads_send_the_download_token_as_bearer(tenant, source, local_dir):
    body = shared("zoom_recording.completed.json")
    files = body["payload"]["object"]["recording_files"]
    for number, file in enumerate(files):
        file["download_url"] = source.add(f"/rec/{number}", MIB + number, token=body["download_token"],
                                          content_type="application/octet-stream")
    with tenant_session(tenant.id) as session:
        ids = recordings.register_from_zoom_event(session, tenant.id, "recording.completed", body)

    for recording_id in ids:
        upload(tenant.id, recording_id).get()

    rows = [recording(tenant.id, recording_id) for recording_id in ids]
    assert [(r.status, r.content_type, r.source_token) for r in rows] == [
        ("stored", "audio/mp4", None), ("stored", "video/mp4", None)]  # generic type: from the extension
    assert (local_dir / rows[1].object_key).stat().st_size == MIB + 1


def test_an_expired_download_token_fails_the_recording_without_retrying(tenant, source, local_dir):
    url = source.add("/rec/expired", MIB, token="a-newer-token")
    with tenant_session(tenant.id) as session:
        [recording_id] = recordings.register(session, tenant.id, [_remote(url)], token="expired-token")

    upload(tenant.id, recording_id).get()

    row = recording(tenant.id, recording_id)
    assert (row.status, row.attempts, row.source_token) == ("failed", 1, None)
    assert "HTTP 401" in row.last_error and "expired-token" not in row.last_error
    assert source.routes["/rec/expired"].requests == 1
    assert list(local_dir.rglob("*")) == []


def test_a_server_error_is_retried_and_then_stored(tenant, source, s3, bucket, configure):
    configure(HOOKLINE_AUDIO_RETRY_BACKOFF_SECONDS=0)
    [recording_id] = registered(tenant.id, ghl_call(source.add("/calls/flaky.mp3", 6 * MIB, statuses=[503, 500])))

    upload(tenant.id, recording_id).get()

    row = recording(tenant.id, recording_id)
    assert (row.status, row.attempts, row.last_error) == ("stored", 3, None)
    assert source.routes["/calls/flaky.mp3"].requests == 3
    assert pending_uploads(s3.client(), bucket) == []


def test_a_body_cut_short_is_retried_and_leaves_one_whole_object(tenant, source, s3, bucket, configure):
    configure(HOOKLINE_AUDIO_RETRY_BACKOFF_SECONDS=0)
    url = source.add("/calls/cut.mp3", 12 * MIB, hold_after=7 * MIB)
    source.routes["/calls/cut.mp3"].release.set()  # hang up at once: fewer bytes than Content-Length
    [recording_id] = registered(tenant.id, ghl_call(url))

    upload(tenant.id, recording_id).get()

    row = recording(tenant.id, recording_id)
    assert (row.status, row.attempts, row.sha256) == ("stored", 2, sha256_of(12 * MIB))
    assert audio_upload.storage().keys(f"{tenant.id}/") == [row.object_key]
    assert pending_uploads(s3.client(), bucket) == []


def test_a_source_that_always_fails_ends_failed_after_the_last_retry(tenant, source, local_dir, configure):
    configure(HOOKLINE_AUDIO_RETRY_BACKOFF_SECONDS=0)
    [recording_id] = registered(tenant.id, ghl_call(source.add("/calls/down.mp3", MIB, statuses=[502] * 20)))

    upload(tenant.id, recording_id).get()

    row = recording(tenant.id, recording_id)
    assert (row.status, row.attempts) == ("failed", audio_upload.MAX_RETRIES + 1)
    assert row.last_error.startswith(f"gave up after {audio_upload.MAX_RETRIES + 1} attempts") and "HTTP 502" in row.last_error


def test_a_stored_recording_is_not_uploaded_again(tenant, source, local_dir):
    [recording_id] = registered(tenant.id, ghl_call(source.add("/calls/once.wav", MIB)))

    upload(tenant.id, recording_id).get()
    upload(tenant.id, recording_id).get()

    assert source.routes["/calls/once.wav"].requests == 1
    assert recording(tenant.id, recording_id).attempts == 1


def store_event(tenant_id, provider, event_type, payload):
    with tenant_session(tenant_id) as session:
        return inbox.store(session, tenant_id, provider=provider, event_type=event_type,
                           dedupe_key=f"{event_type}-1", payload=payload).event_id


def event_status(tenant_id, event_id):
    with tenant_session(tenant_id) as session:
        return session.scalars(select(WebhookEvent.status).where(WebhookEvent.id == event_id)).one()


def test_the_event_task_registers_rows_then_queues_one_upload_each(tenant, upload_queue):
    event_id = store_event(tenant.id, "zoom", "recording.completed", shared("zoom_recording.completed.json"))

    audio_upload.register_recordings(tenant_id=tenant.id, event_id=event_id)
    audio_upload.register_recordings(tenant_id=tenant.id, event_id=event_id)  # redelivered

    with tenant_session(tenant.id) as session:
        ids = session.scalars(select(Recording.id).where(Recording.tenant_id == tenant.id).order_by(Recording.id)).all()
    assert len(ids) == 2 and event_status(tenant.id, event_id) == "processed"
    assert sorted(upload_queue()) == sorted(repr({"tenant_id": tenant.id, "recording_id": i}) for i in ids)


def test_a_ghl_message_that_is_not_a_call_is_processed_and_ignored(tenant, upload_queue):
    event_id = store_event(tenant.id, "ghl", "InboundMessage", shared("ghl_InboundMessage_sms.json"))

    audio_upload.register_recordings(tenant_id=tenant.id, event_id=event_id)

    assert event_status(tenant.id, event_id) == "processed"
    assert upload_queue() == []


def test_a_zoom_event_that_cannot_parse_fails_the_event(tenant, upload_queue):
    body = shared("zoom_phone.recording_completed.json")
    del body["payload"]["object"]["recordings"][0]["id"]
    event_id = store_event(tenant.id, "zoom", "phone.recording_completed", body)

    audio_upload.register_recordings(tenant_id=tenant.id, event_id=event_id)

    assert event_status(tenant.id, event_id) == "failed"
    assert upload_queue() == []


def _remote(url):
    from hookline.integrations.download import RemoteRecording

    return RemoteRecording(source="zoom", external_id="file-expired", url=url, extension="m4a")
