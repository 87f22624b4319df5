"""Registering recordings from Zoom and GoHighLevel payloads, on real PostgreSQL with row-level security."""

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from hookline.db import tenant_session
from hookline.models import Recording
from hookline.services import recordings
from tests.support.webhooks import shared


def ghl_call(**changes):
    body = shared("ghl_InboundMessage_call.json")
    body["attachments"] = ["https://files.example.com/calls/rec-1.wav?sig=abc", "https://files.example.com/calls/rec-2"]
    body.update(changes)
    return body


def rows(tenant_id):
    with tenant_session(tenant_id) as session:
        return session.scalars(select(Recording).where(Recording.tenant_id == tenant_id).order_by(Recording.id)).all()


def test_zoom_recording_completed_makes_a_row_per_recording_file(tenant):
    with tenant_session(tenant.id) as session:
        ids = recordings.register_from_zoom_event(session, tenant.id, "recording.completed",
                                                  shared("zoom_recording.completed.json"))

    found = rows(tenant.id)
    assert [r.id for r in found] == ids
    assert [(r.source, r.external_id, r.extension, r.duration_seconds, r.source_token) for r in found] == [
        ("zoom", "ed6c2f27-2ae7-42f4-b3d0-835b493e4fa8", "m4a", 3644, "abJhbGciOiJIUzUxMiJ9"),
        ("zoom", "388ffb46-1541-460d-8447-4624451a1db7", "mp4", 3644, "abJhbGciOiJIUzUxMiJ9"),
    ]
    assert found[0].object_key == f"{tenant.id}/recordings/2021/03/{found[0].id}.m4a"
    assert found[0].parent_external_id == "4444AAAiAAAAAiAiAiiAii=="
    assert found[0].status == "pending"


def test_zoom_phone_recording_completed_makes_a_row_per_recording(tenant):
    with tenant_session(tenant.id) as session:
        recordings.register_from_zoom_event(session, tenant.id, "phone.recording_completed",
                                            shared("zoom_phone.recording_completed.json"))

    [row] = rows(tenant.id)
    assert (row.source, row.external_id, row.parent_external_id, row.duration_seconds, row.extension) == (
        "zoom_phone", "c71b360f6e774e3aa101453117b7e1a7", "6998252113337041462", 43, "mp3")
    assert row.object_key == f"{tenant.id}/recordings/2021/08/{row.id}.mp3"


def test_a_ghl_call_links_each_recording_url_to_its_contact(tenant):
    with tenant_session(tenant.id) as session:
        recordings.register_from_ghl_message(session, tenant.id, ghl_call())

    found = rows(tenant.id)
    assert [(r.external_id, r.extension, r.contact_external_id, r.duration_seconds) for r in found] == [
        ("tyW42xCD0HQpb3hhfLcx:0", "wav", "gblakL5aYQC4glDtP1r2t3", 120),
        ("tyW42xCD0HQpb3hhfLcx:1", "wav", "gblakL5aYQC4glDtP1r2t3", 120),
    ]
    assert found[0].object_key == f"{tenant.id}/recordings/2024/05/{found[0].id}.wav"


def test_a_ghl_voicemail_is_a_call_too(tenant):
    body = shared("ghl_InboundMessage_voicemail.json")
    body["attachments"] = ["https://files.example.com/vm/1.mp3"]

    with tenant_session(tenant.id) as session:
        ids = recordings.register_from_ghl_message(session, tenant.id, body)

    assert [(r.id, r.extension, r.contact_external_id) for r in rows(tenant.id)] == [(ids[0], "mp3", "gb7laj5aYQC4glDtP1r5")]


@pytest.mark.parametrize("fixture", ["ghl_InboundMessage_sms.json", "ghl_OutboundMessage_email.json"])
def test_ghl_messages_that_are_not_calls_register_nothing(tenant, fixture):
    with tenant_session(tenant.id) as session:
        assert recordings.register_from_ghl_message(session, tenant.id, shared(fixture)) == []

    assert rows(tenant.id) == []


def test_the_same_webhook_twice_is_one_row_per_file(tenant):
    for _ in range(2):
        with tenant_session(tenant.id) as session:
            recordings.register_from_ghl_message(session, tenant.id, ghl_call())

    assert len(rows(tenant.id)) == 2


def test_registering_again_does_not_requeue_a_stored_recording(tenant):
    with tenant_session(tenant.id) as session:
        first = recordings.register_from_ghl_message(session, tenant.id, ghl_call())
        recordings.start_upload(session, tenant.id, first[0])

    with tenant_session(tenant.id) as session:
        again = recordings.register_from_ghl_message(session, tenant.id, ghl_call())

    assert again == [first[1]]  # the uploading one is left alone; the pending one needs its task


def test_keys_are_namespaced_by_tenant_and_rows_are_invisible_across_tenants(tenant, other_tenant):
    with tenant_session(tenant.id) as session:
        [mine, _] = recordings.register_from_ghl_message(session, tenant.id, ghl_call())
    with tenant_session(other_tenant.id) as session:
        [theirs, _] = recordings.register_from_ghl_message(session, other_tenant.id, ghl_call())
        assert recordings.get(session, other_tenant.id, mine) is None
        # Row-level security too: even without the WHERE, the other tenant's row is not there.
        assert session.get(Recording, mine) is None

    assert rows(tenant.id)[0].object_key.startswith(f"{tenant.id}/recordings/")
    assert rows(other_tenant.id)[0].object_key.startswith(f"{other_tenant.id}/recordings/")
    assert mine != theirs


def test_a_zoom_file_without_a_download_url_is_refused(tenant):
    body = shared("zoom_recording.completed.json")
    del body["payload"]["object"]["recording_files"][0]["download_url"]

    with tenant_session(tenant.id) as session, pytest.raises(ValidationError):
        recordings.register_from_zoom_event(session, tenant.id, "recording.completed", body)


def test_an_unsafe_file_extension_becomes_bin(tenant):
    body = shared("zoom_recording.completed.json")
    for file in body["payload"]["object"]["recording_files"]:
        file["file_extension"] = file["file_type"] = "../../etc"

    with tenant_session(tenant.id) as session:
        recordings.register_from_zoom_event(session, tenant.id, "recording.completed", body)

    assert {r.object_key.rsplit(".", 1)[1] for r in rows(tenant.id)} == {"bin"}
