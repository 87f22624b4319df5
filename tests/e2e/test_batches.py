"""Batches (transport/batches.py, tasks/inbox_task.run_many): many inbox events in one task message,
on real PostgreSQL, Redis, a real worker and a real ingress."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from hookline.db import tenant_session
from hookline.models import Contact, DeadLetter, TaskRun, WebhookEvent
from hookline.services import inbox
from hookline.tasks.maintenance import relay_unpublished
from hookline.transport.publish import publish
from tests.support.ingress import ingress
from tests.support.processes import wait_for
from tests.support.webhooks import encode, ghl_headers, payload

BATCH = "hookline.tasks.ghl_sync.apply_events"


@pytest.fixture(scope="module")
def waiting_ingress(database, tmp_path_factory) -> str:
    """An ingress whose publisher lets events gather for half a second: posts sent together share a message."""
    with ingress(tmp_path_factory.mktemp("ingress") / "ingress-batch.log", HOOKLINE_BATCH_WAIT_MS="500") as url:
        yield url


def store(tenant_id, key, body):
    with tenant_session(tenant_id) as session:
        return inbox.store(session, tenant_id, provider="ghl", event_type=body["type"], dedupe_key=key,
                           payload=body).event_id


def contact(index, **changes):
    return payload("ghl/ContactCreate.json", id=f"ct-batch-{index}", email=f"c{index}@example.com",
                   webhookId=str(uuid.uuid4()), **changes)


def events(tenant_id, event_ids):
    with tenant_session(tenant_id) as session:
        rows = session.scalars(select(WebhookEvent).where(WebhookEvent.tenant_id == tenant_id,
                                                          WebhookEvent.id.in_(event_ids))).all()
        return {row.id: (row.status, row.attempts, row.last_error) for row in rows}


def settled(tenant_id, event_ids):
    return all(status != "pending" for status, _, _ in events(tenant_id, event_ids).values())


def runs(tenant_id, task=BATCH):
    with tenant_session(tenant_id) as session:
        return session.execute(select(TaskRun.event_ids, TaskRun.state).where(
            TaskRun.tenant_id == tenant_id, TaskRun.task == task, TaskRun.finished_at.is_not(None))).all()


def contacts(tenant_id):
    with tenant_session(tenant_id) as session:
        return {row.external_id: row for row in session.scalars(select(Contact).where(Contact.tenant_id == tenant_id))}


def test_a_bad_event_fails_alone_and_the_rest_of_its_batch_commits(worker, tenant):
    good = [store(tenant.id, f"good-{i}", contact(i)) for i in range(3)]
    unparsable = store(tenant.id, "unparsable", contact(90, dateUpdated="not a date"))
    too_long = store(tenant.id, "too-long", contact(91, phone="+49" + "1" * 60))  # phone is VARCHAR(50)
    batch = [good[0], unparsable, good[1], too_long, good[2]]

    publish(BATCH, tenant_id=tenant.id, event_ids=batch)

    wait_for(lambda: settled(tenant.id, batch), what="the batch to be applied")
    outcome = events(tenant.id, batch)
    assert [outcome[event_id][:2] for event_id in good] == [("processed", 1)] * 3
    assert outcome[unparsable][0] == "failed" and "invalid payload" in outcome[unparsable][2]
    assert outcome[too_long][0] == "failed" and "StringDataRightTruncation" in outcome[too_long][2]
    assert sorted(contacts(tenant.id)) == ["ct-batch-0", "ct-batch-1", "ct-batch-2"]
    # The event that broke the statement has a dead letter of its own, naming the one-event task.
    with tenant_session(tenant.id) as session:
        letters = session.execute(select(DeadLetter.task, DeadLetter.kwargs).where(
            DeadLetter.tenant_id == tenant.id)).all()
    assert letters == [("hookline.tasks.ghl_sync.apply_event", {"tenant_id": tenant.id, "event_id": too_long})]
    wait_for(lambda: runs(tenant.id), what="the batch's task_runs row")
    assert runs(tenant.id) == [(batch, "succeeded")]  # "what happened to event N": its run names it


def test_inside_a_batch_the_newer_update_of_a_contact_wins(worker, tenant):
    now = datetime.now(UTC)
    newer = store(tenant.id, "newer", payload("ghl/ContactUpdate.json", id="ct-order", city="Newer",
                                              dateUpdated=(now - timedelta(minutes=1)).isoformat()))
    older = store(tenant.id, "older", payload("ghl/ContactUpdate.json", id="ct-order", city="Older",
                                              dateUpdated=(now - timedelta(minutes=5)).isoformat()))
    other = store(tenant.id, "other", payload("ghl/ContactUpdate.json", id="ct-other", city="Other"))
    first = store(tenant.id, "first", payload("ghl/ContactUpdate.json", id="ct-later", city="First",
                                              dateUpdated=(now - timedelta(minutes=5)).isoformat()))
    later = store(tenant.id, "later", payload("ghl/ContactUpdate.json", id="ct-later", city="Later",
                                              dateUpdated=(now - timedelta(minutes=1)).isoformat()))
    batch = [newer, older, other, first, later]  # the newer change of ct-order first, of ct-later last

    publish(BATCH, tenant_id=tenant.id, event_ids=batch)

    wait_for(lambda: settled(tenant.id, batch), what="the batch to be applied")
    assert {status for status, _, _ in events(tenant.id, batch).values()} == {"processed"}
    rows = contacts(tenant.id)
    assert {external_id: row.city for external_id, row in rows.items()} == {
        "ct-order": "Newer", "ct-other": "Other", "ct-later": "Later"}


def test_a_batch_message_delivered_twice_applies_each_event_once(worker, tenant):
    batch = [store(tenant.id, f"twice-{i}", contact(i)) for i in range(4)]

    publish(BATCH, tenant_id=tenant.id, event_ids=batch)
    publish(BATCH, tenant_id=tenant.id, event_ids=batch)  # a redelivery, or the sweeper's copy

    wait_for(lambda: len(runs(tenant.id)) == 2, what="both deliveries to run")
    assert {event_id: (status, attempts) for event_id, (status, attempts, _) in events(tenant.id, batch).items()} \
        == dict.fromkeys(batch, ("processed", 1))
    assert sorted(contacts(tenant.id)) == [f"ct-batch-{i}" for i in range(4)]
    logged = [json.loads(line) for line in worker.lines() if line.startswith("{")]
    takes = [(line["taken"], line["skipped"]) for line in logged
             if line.get("event") == "ghl.events.batch" and line["event_ids"] == batch]
    assert sorted(takes) == [(0, batch), (4, [])]  # the second delivery took none


def test_the_relay_republishes_a_backlog_in_batches(worker, tenant):
    backlog = [store(tenant.id, f"backlog-{i}", contact(i)) for i in range(7)]

    relay_unpublished.apply_async(kwargs={"older_than_seconds": 0})  # on the worker, through the broker

    wait_for(lambda: settled(tenant.id, backlog), what="the relayed backlog to be applied")
    assert {status for status, _, _ in events(tenant.id, backlog).values()} == {"processed"}
    wait_for(lambda: runs(tenant.id), what="the batch's task_runs row")
    assert runs(tenant.id) == [(backlog, "succeeded")]  # one message, one run, every event named
    assert relay_unpublished(older_than_seconds=0) == 0


def test_webhooks_posted_together_are_applied_from_shared_messages(waiting_ingress, worker, tenant):
    bodies = [encode(contact(i)) for i in range(12)]

    async def post_all():
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.gather(*(client.post(f"{waiting_ingress}/webhooks/ghl", content=body,
                                                      headers=ghl_headers(body)) for body in bodies))

    answers = asyncio.run(post_all())
    assert [answer.status_code for answer in answers] == [202] * 12
    posted = [answer.json()["event_id"] for answer in answers]

    wait_for(lambda: settled(tenant.id, posted), what="the posted events to be applied")
    assert {status for status, _, _ in events(tenant.id, posted).values()} == {"processed"}

    def run_events():
        return ([event_id for event_ids, _ in runs(tenant.id) for event_id in event_ids],
                runs(tenant.id, "hookline.tasks.ghl_sync.apply_event"))

    wait_for(lambda: sum(map(len, run_events())) >= 12, what="every run's task_runs row")
    batched, single = run_events()
    assert len(batched) == len(set(batched)) and len(batched) + len(single) == 12
    assert len(batched) >= 2  # at least one message carried several of them
    assert len(contacts(tenant.id)) == 12
