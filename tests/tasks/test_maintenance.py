"""The relay's and the recordings sweep's choice of rows, on real PostgreSQL and Redis (the task function called directly)."""

import ast
import json
from datetime import timedelta

import pytest
import redis
from sqlalchemy import func, update

from hookline.db import tenant_session
from hookline.models import EventStatus, Recording
from hookline.services import inbox, recordings
from hookline.tasks.audio_upload import UPLOAD_TIME_LIMIT
from hookline.tasks.maintenance import relay_unpublished, sweep_recordings
from tests.conftest import REDIS_URL
from tests.support.webhooks import payload


@pytest.fixture()
def queue(redis_client):
    redis_client.delete("ghl_sync")
    return lambda: [json.loads(raw)["headers"] for raw in redis_client.lrange("ghl_sync", 0, -1)]


def store(tenant_id, key, event_type="ContactCreate", status=EventStatus.PENDING):
    with tenant_session(tenant_id) as session:
        return inbox.store(session, tenant_id, provider="ghl", event_type=event_type, dedupe_key=key,
                           payload=payload("ghl/ContactCreate.json"), status=status).event_id


def test_the_relay_leaves_fresh_rows_to_the_ingress(tenant, queue):
    store(tenant.id, "fresh")

    assert relay_unpublished(older_than_seconds=60) == 0
    assert queue() == []


def test_the_relay_publishes_each_tenants_unpublished_rows_once(tenant, other_tenant, queue):
    first = store(tenant.id, "a")
    second = store(other_tenant.id, "b")

    assert relay_unpublished(older_than_seconds=0) == 2
    assert relay_unpublished(older_than_seconds=0) == 0

    assert sorted((h["tenant_id"], h["kwargsrepr"]) for h in queue()) == sorted([
        (tenant.id, repr({"tenant_id": tenant.id, "event_id": first})),
        (other_tenant.id, repr({"tenant_id": other_tenant.id, "event_id": second})),
    ])


def publish_as_the_ingress(tenant_id, *event_ids):
    """What the ingress's publisher leaves in Redis for these events: their messages and their bits."""
    from hookline.transport.messages import TaskMessages, push
    from hookline.transport.publisher import Job
    from hookline.workers.app import app

    push(redis.Redis.from_url(REDIS_URL), TaskMessages(app),
         [Job("hookline.tasks.ghl_sync.apply_event", tenant_id, event_id, "ghl") for event_id in event_ids])


def published_at(tenant_id, event_id):
    with tenant_session(tenant_id) as session:
        return inbox.get(session, tenant_id, event_id).published_at


def test_the_relay_stamps_what_the_ingress_published_and_publishes_only_the_rest(tenant, queue):
    sent, lost = store(tenant.id, "sent"), store(tenant.id, "lost")
    publish_as_the_ingress(tenant.id, sent)

    assert relay_unpublished(older_than_seconds=0) == 1
    assert relay_unpublished(older_than_seconds=0) == 0

    assert sorted(h["kwargsrepr"] for h in queue()) == sorted(repr({"tenant_id": tenant.id, "event_id": event_id})
                                                              for event_id in (sent, lost))  # one message each
    assert published_at(tenant.id, sent) is not None and published_at(tenant.id, lost) is not None


def test_a_replayed_event_is_relayed_although_its_first_publish_left_its_bit(tenant, queue):
    event_id = store(tenant.id, "replayed")
    publish_as_the_ingress(tenant.id, event_id)
    with tenant_session(tenant.id) as session:
        inbox.take(session, tenant.id, event_id)
    with tenant_session(tenant.id) as session:
        inbox.reset_for_replay(session, tenant.id, event_id)  # pending again; the replay's publish failed

    assert relay_unpublished(older_than_seconds=0) == 1
    assert len(queue()) == 2  # the ingress's message, and the relay's


def test_the_relay_skips_ignored_and_processed_rows(tenant, queue):
    store(tenant.id, "ignored", event_type="CampaignStatusUpdate", status=EventStatus.IGNORED)
    done = store(tenant.id, "done")
    with tenant_session(tenant.id) as session:
        inbox.take(session, tenant.id, done)

    assert relay_unpublished(older_than_seconds=0) == 0
    assert queue() == []


def test_a_backlog_over_the_fairness_burst_is_relayed_to_the_bulk_lane(tenant, other_tenant, queue, redis_client):
    from hookline.config import get_settings

    redis_client.delete("ghl_sync.bulk", f"hookline:fair:hot:{other_tenant.id}")
    backlog = get_settings().fairness_burst + 1
    for index in range(backlog):
        store(tenant.id, f"flood-{index}")
    store(other_tenant.id, "quiet")

    assert relay_unpublished(older_than_seconds=0, batch=backlog) == backlog + 1

    bulk = [json.loads(raw)["headers"] for raw in redis_client.lrange("ghl_sync.bulk", 0, -1)]
    assert {headers["tenant_id"] for headers in bulk} == {tenant.id}
    # In batches of HOOKLINE_BULK_BATCH_SIZE events (transport/batches.py), every event once.
    kwargs = [ast.literal_eval(headers["kwargsrepr"]) for headers in bulk]
    carried = sorted(event_id for each in kwargs for event_id in each.get("event_ids") or [each["event_id"]])
    assert len(carried) == len(set(carried)) == backlog
    assert len(bulk) == -(-backlog // get_settings().bulk_batch_size)  # the bulk lane's batch size
    assert [headers["tenant_id"] for headers in queue()] == [other_tenant.id]


def register_recording(tenant_id, external_id):
    from hookline.integrations.download import RemoteRecording

    file = RemoteRecording(source="ghl", external_id=external_id, url=f"http://127.0.0.1:9/{external_id}.mp3",
                           extension="mp3")
    with tenant_session(tenant_id) as session:
        [recording_id] = recordings.register(session, tenant_id, [file])
    return recording_id


def age(tenant_id, recording_id, seconds):
    with tenant_session(tenant_id) as session:
        session.execute(update(Recording).where(Recording.tenant_id == tenant_id, Recording.id == recording_id)
                        .values(updated_at=func.now() - timedelta(seconds=seconds)))


@pytest.fixture()
def uploads(redis_client):
    redis_client.delete("audio_upload")
    yield lambda: sorted(json.loads(raw)["headers"]["kwargsrepr"] for raw in redis_client.lrange("audio_upload", 0, -1))
    redis_client.delete("audio_upload")


def test_the_recordings_sweep_publishes_idle_pending_and_dead_uploading_rows_once(tenant, other_tenant, uploads):
    register_recording(tenant.id, "fresh")  # idle 0 s: left alone
    stranded = register_recording(tenant.id, "stranded")
    other = register_recording(other_tenant.id, "other")
    uploading_live = register_recording(tenant.id, "live")
    uploading_dead = register_recording(tenant.id, "dead")
    for tenant_id, recording_id in ((tenant.id, uploading_live), (tenant.id, uploading_dead)):
        with tenant_session(tenant_id) as session:
            recordings.start_upload(session, tenant_id, recording_id)
    for tenant_id, recording_id, seconds in ((tenant.id, stranded, 120), (other_tenant.id, other, 120),
                                             (tenant.id, uploading_live, 120),
                                             (tenant.id, uploading_dead, UPLOAD_TIME_LIMIT + 60)):
        age(tenant_id, recording_id, seconds)

    assert sweep_recordings(older_than_seconds=60) == 3
    assert sweep_recordings(older_than_seconds=60) == 0  # stamped: the next sweep waits again

    assert uploads() == sorted(repr({"tenant_id": t, "recording_id": r}) for t, r in (
        (tenant.id, stranded), (other_tenant.id, other), (tenant.id, uploading_dead)))
