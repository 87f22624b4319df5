"""`hookline recordings`, run as a real process against the test database and the test Redis."""

import json

import pytest

from hookline.db import tenant_session
from hookline.services import recordings
from tests.support.cli import hookline
from tests.support.webhooks import shared


@pytest.fixture()
def upload_queue(redis_client):
    redis_client.delete("audio_upload")
    yield lambda: [json.loads(raw)["headers"]["kwargsrepr"] for raw in redis_client.lrange("audio_upload", 0, -1)]
    redis_client.delete("audio_upload")


def registered(tenant):
    body = {**shared("ghl_InboundMessage_call.json"), "attachments": ["https://files.example.com/a.wav"]}
    with tenant_session(tenant.id) as session:
        [recording_id] = recordings.register_from_ghl_message(session, tenant.id, body)
    return recording_id


def failed(tenant):
    recording_id = registered(tenant)
    with tenant_session(tenant.id) as session:
        recordings.start_upload(session, tenant.id, recording_id)
        recordings.mark_failed(session, tenant.id, recording_id, "download https://files.example.com/a.wav: HTTP 403")
    return recording_id


def test_list_shows_a_failed_recording_with_its_error(tenant):
    recording_id = failed(tenant)

    result = hookline("recordings", "list", "--tenant", tenant.slug, "--status", "failed")

    assert result.returncode == 0, result.stderr
    [_header, line] = result.stdout.splitlines()
    assert line.split()[:5] == [str(recording_id), tenant.slug, "ghl", "failed", "1"]
    assert "HTTP 403" in line


def test_retry_makes_a_failed_recording_pending_and_queues_its_upload(tenant, upload_queue):
    recording_id = failed(tenant)

    result = hookline("recordings", "retry", str(recording_id), "--tenant", tenant.slug)

    assert result.returncode == 0, result.stderr
    with tenant_session(tenant.id) as session:
        row = recordings.get(session, tenant.id, recording_id)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, None)
    assert upload_queue() == [repr({"tenant_id": tenant.id, "recording_id": recording_id})]


def test_retry_refuses_a_recording_that_is_being_uploaded(tenant, upload_queue):
    recording_id = registered(tenant)
    with tenant_session(tenant.id) as session:
        recordings.start_upload(session, tenant.id, recording_id)

    result = hookline("recordings", "retry", str(recording_id))

    assert result.returncode == 1
    assert f"recording {recording_id} ({tenant.slug}) is uploading: nothing to retry" in result.stderr
    assert upload_queue() == []


def test_retry_of_an_unknown_recording_is_a_clear_error(tenant):
    result = hookline("recordings", "retry", "999999", "--tenant", tenant.slug)

    assert result.returncode == 1
    assert f"no recording 999999 for tenant {tenant.slug}" in result.stderr
