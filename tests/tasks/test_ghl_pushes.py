"""Pushes back to GoHighLevel, in-process against the fake: the dunning tag, the recording note, the tenant's switch.

Triggers run as production runs them (the dunning task, `hookline billing pay`, the upload task);
the push tasks they publish are taken off the real ghl_sync queue in Redis and run here.
"""

from __future__ import annotations

import base64
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update
from structlog.testing import capture_logs

from hookline.db import tenant_session
from hookline.models import CrmPush
from hookline.services import billing, contacts, inbox, pushes, recordings
from hookline.services.billing import Policy
from hookline.tasks import audio_upload
from hookline.tasks.dunning import apply_payment_event, run_daily
from hookline.tasks.ghl_sync import push_dunning_tag, push_recording_note, queue_pushes
from hookline.tasks.maintenance import sweep_pushes
from hookline.workers.app import app
from tests.support.cli import hookline
from tests.support.fake_ghl import FakeGHL
from tests.support.sources import RecordingSource
from tests.support.sync import LOCATION, connect, pointed_at
from tests.support.webhooks import payload, shared

TAG = "hookline:dunning-suspended"
CALL = shared("ghl_InboundMessage_call.json")
CONTACT = CALL["contactId"]
STRIPE_INVOICE = "in_1QbP7wSunny0001"  # what tests/fixtures/payments/*.json name
SUSPENDED_ON, PAID_ON = "2026-11-04", "2026-11-05"  # due 2026-11-01, suspended 3 days after


@pytest.fixture()
def fake():
    ghl = FakeGHL(limit=1000)
    ghl.contacts[LOCATION][CONTACT] = {"id": CONTACT, "locationId": LOCATION, "email": "ana@example.com",
                                       "tags": ["lead"]}
    return ghl


@pytest.fixture()
def ghl(fake, tenant, monkeypatch, redis_client, tmp_path):
    """The fake on loopback, the tenant connected to it, recordings stored under tmp_path."""
    with pointed_at(fake, monkeypatch, redis_client, STORAGE_BACKEND="local", STORAGE_DIR=str(tmp_path)) as url:
        audio_upload.storage.cache_clear()
        connect(tenant, fake)
        redis_client.delete("ghl_sync")
        yield url
    audio_upload.storage.cache_clear()
    redis_client.delete("ghl_sync")


@pytest.fixture()
def customer(tenant, ghl):
    """Ana: a billing customer with an invoice due 2026-11-01, and (by her email) a GoHighLevel contact."""
    with tenant_session(tenant.id) as session:
        billing.set_policy(session, tenant.id, Policy((1,), 3))
        billing.add_customer(session, tenant.id, external_id="cus_ana", name="Ana", email="ana@example.com",
                             plan="solar")
        billing.add_invoice(session, tenant.id, customer_external_id="cus_ana", number="INV-1", amount="129.00",
                            currency="EUR", due_date=date(2026, 11, 1), external_id=STRIPE_INVOICE)
        contacts.upsert(session, tenant.id, contacts.ContactData(provider="ghl", external_id=CONTACT,
                                                                 email="Ana@Example.com"))
    return tenant


def queued(redis_client) -> list[tuple[str, dict]]:
    """(task, kwargs) of every message on the ghl_sync queue, taken off it."""
    messages = [json.loads(raw) for raw in redis_client.lrange("ghl_sync", 0, -1)]
    redis_client.delete("ghl_sync")
    return [(m["headers"]["task"], json.loads(base64.b64decode(m["body"]))[1]) for m in messages]


def run(messages: list[tuple[str, dict]]) -> list:
    return [app.tasks[name].apply(kwargs=kwargs).get() for name, kwargs in messages]


def pay(tenant) -> None:
    paid = hookline("billing", "pay", "--tenant", tenant.slug, "--invoice", "INV-1", "--amount", "129.00",
                    "--on", PAID_ON, "--reference", "late-payment")
    assert paid.returncode == 0, paid.stderr


def store_recording(tenant, message_id: str = CALL["messageId"]) -> int:
    """A GoHighLevel call's recording registered, then stored by the upload task."""
    with RecordingSource() as source:
        url = source.add("/calls/one.wav", 4096, content_type="audio/x-wav")
        with tenant_session(tenant.id) as session:
            [recording_id] = recordings.register_from_ghl_message(
                session, tenant.id, {**CALL, "messageId": message_id, "attachments": [url]})
        audio_upload.upload_recording(tenant_id=tenant.id, recording_id=recording_id)
    return recording_id


def push_rows(tenant) -> list[tuple[str, str, str | None]]:
    with tenant_session(tenant.id) as session:
        return [(p.key, p.state, p.result) for p in session.scalars(select(CrmPush).order_by(CrmPush.id))]


def test_a_suspension_tags_the_customers_contact_and_the_payment_clears_it(customer, fake, redis_client):
    run_daily(tenant_id=customer.id, local_date=SUSPENDED_ON)

    suspension = queued(redis_client)
    assert [name for name, _ in suspension] == [push_dunning_tag.name]
    assert run(suspension) == ["tagged"]
    assert fake.contacts[LOCATION][CONTACT]["tags"] == ["lead", TAG]

    pay(customer)

    assert run(queued(redis_client)) == ["untagged"]
    assert fake.contacts[LOCATION][CONTACT]["tags"] == ["lead"]
    assert fake.tag_calls == [("POST", CONTACT, [TAG]), ("DELETE", CONTACT, [TAG])]
    assert [(state, result) for _, state, result in push_rows(customer)] == [("done", "tagged"), ("done", "untagged")]


def test_a_payment_event_that_lifts_the_suspension_clears_the_tag(customer, fake, redis_client):
    run_daily(tenant_id=customer.id, local_date=SUSPENDED_ON)
    run(queued(redis_client))
    body = payload("payments/invoice.paid.json")
    with tenant_session(customer.id) as session:
        event_id = inbox.store(session, customer.id, provider="payments", event_type=body["type"],
                               dedupe_key=body["id"], payload=body).event_id

    apply_payment_event(tenant_id=customer.id, event_id=event_id)

    assert run(queued(redis_client)) == ["untagged"]
    assert fake.contacts[LOCATION][CONTACT]["tags"] == ["lead"]


def test_a_suspension_run_twice_and_its_push_run_twice_tag_once(customer, fake, redis_client):
    run_daily(tenant_id=customer.id, local_date=SUSPENDED_ON)
    run_daily(tenant_id=customer.id, local_date=SUSPENDED_ON)  # the ladder's own key: one suspension
    [(_, kwargs)] = queued(redis_client)

    first = push_dunning_tag.apply(kwargs=kwargs).get()
    second = push_dunning_tag.apply(kwargs=kwargs).get()

    assert (first, second) == ("tagged", None)
    assert fake.tag_calls == [("POST", CONTACT, [TAG])]


def test_a_suspension_push_that_runs_after_the_payment_leaves_no_tag(customer, fake, redis_client):
    run_daily(tenant_id=customer.id, local_date=SUSPENDED_ON)
    late = queued(redis_client)
    pay(customer)

    results = run(late + queued(redis_client))

    # Each push sets the tag as the customer stands when it runs: paid, so no tag, whatever the order.
    assert results == ["untagged", "untagged"]
    assert TAG not in fake.contacts[LOCATION][CONTACT]["tags"]


def test_a_customer_with_no_ghl_contact_is_skipped_with_a_log_line(customer, fake, redis_client):
    with tenant_session(customer.id) as session:
        contacts.upsert(session, customer.id, contacts.ContactData(provider="ghl", external_id=CONTACT,
                                                                   email="someone-else@example.com"))
    run_daily(tenant_id=customer.id, local_date=SUSPENDED_ON)

    with capture_logs() as logs:
        assert run(queued(redis_client)) == [None]

    assert [(state, result) for _, state, result in push_rows(customer)] == [("skipped", None)]
    assert [log["reason"] for log in logs if log["event"] == "ghl.push.skipped"] == [
        "the customer's email matches no GoHighLevel contact"]
    assert not [log for log in logs if log["log_level"] == "error"]
    assert fake.tag_calls == [] and fake.accepted[LOCATION] == []


def test_a_contact_gone_from_the_crm_fails_the_push_for_an_operator(customer, fake, redis_client):
    del fake.contacts[LOCATION][CONTACT]
    run_daily(tenant_id=customer.id, local_date=SUSPENDED_ON)

    assert run(queued(redis_client)) == [None]

    with tenant_session(customer.id) as session:
        row = session.scalars(select(CrmPush)).one()
    assert (row.state, row.contact_external_id) == ("failed", CONTACT)
    assert row.last_error.startswith("NotFound")


def test_a_stored_recording_becomes_one_note_with_its_storage_link(tenant, fake, ghl, redis_client, tmp_path):
    recording_id = store_recording(tenant)

    [(name, kwargs)] = queued(redis_client)
    note_id = push_recording_note.apply(kwargs=kwargs).get()

    notes = fake.contacts[LOCATION][CONTACT]["_notes"]
    with tenant_session(tenant.id) as session:
        key = recordings.get(session, tenant.id, recording_id).object_key
    assert name == push_recording_note.name and [n["id"] for n in notes] == [note_id]
    assert (tmp_path / key).resolve().as_uri() in notes[0]["body"]
    assert "recorded 2024-05-08 11:57 UTC, 2:00 min" in notes[0]["body"]


def test_a_note_push_run_again_after_the_crm_took_it_makes_no_second_note(tenant, fake, ghl, redis_client):
    store_recording(tenant)
    [(_, kwargs)] = queued(redis_client)
    note_id = push_recording_note.apply(kwargs=kwargs).get()
    # A worker that died after GoHighLevel took the note and before its commit: the row is pending again.
    with tenant_session(tenant.id) as session:
        session.execute(update(CrmPush).where(CrmPush.id == kwargs["push_id"]).values(state="pending", result=None))

    again = push_recording_note.apply(kwargs=kwargs).get()
    done_once_more = push_recording_note.apply(kwargs=kwargs).get()

    assert (again, done_once_more) == (note_id, None)
    assert len(fake.contacts[LOCATION][CONTACT]["_notes"]) == 1


def test_the_tenant_switch_off_stops_both_pushes(customer, fake, redis_client):
    run_daily(tenant_id=customer.id, local_date=SUSPENDED_ON)
    store_recording(customer)
    waiting = queued(redis_client)  # one of each, queued while pushes were on
    assert sorted(name for name, _ in waiting) == [push_dunning_tag.name, push_recording_note.name]

    off = hookline("tenants", "set-pushes", customer.slug, "--off")

    assert off.returncode == 0 and "pushes to GoHighLevel off" in off.stdout, off.stderr
    assert run(waiting) == [None, None]  # queued before: skipped, not sent
    pay(customer)  # a reinstatement and a recording while off: nothing recorded, nothing queued
    store_recording(customer, message_id="another-call")
    assert queued(redis_client) == []
    assert [state for _, state, _ in push_rows(customer)] == ["skipped", "skipped"]
    assert fake.accepted[LOCATION] == []  # not one request reached GoHighLevel

    on = hookline("tenants", "set-pushes", customer.slug, "--on")
    assert on.returncode == 0 and "pushes to GoHighLevel on" in on.stdout
    with tenant_session(customer.id) as session:
        assert pushes.enabled(session, customer.id)


def test_set_pushes_refuses_an_unknown_tenant_and_a_missing_choice(tenant):
    unknown = hookline("tenants", "set-pushes", "nobody", "--off")
    no_choice = hookline("tenants", "set-pushes", tenant.slug)

    assert unknown.returncode != 0 and "no tenant with slug 'nobody'" in unknown.stderr
    assert no_choice.returncode != 0 and "Missing option '--on'" in no_choice.stderr


def test_pushes_are_published_after_the_commit_and_not_on_rollback(tenant, ghl, redis_client):
    with pytest.raises(RuntimeError, match="rolled back"), tenant_session(tenant.id) as session:
        pushes.request_recording_note(session, tenant.id, 41)
        queue_pushes(session, tenant.id)
        raise RuntimeError("rolled back")
    assert queued(redis_client) == [] and push_rows(tenant) == []

    with tenant_session(tenant.id) as session:
        pushes.request_recording_note(session, tenant.id, 42)
        assert queue_pushes(session, tenant.id) == 1
        assert redis_client.llen("ghl_sync") == 0  # not before the commit
    assert [(name, kwargs["tenant_id"]) for name, kwargs in queued(redis_client)] == [
        (push_recording_note.name, tenant.id)]


def test_a_push_whose_publish_was_lost_is_published_again_by_the_sweep(tenant, ghl, redis_client):
    with tenant_session(tenant.id) as session:
        push_id = pushes.request_recording_note(session, tenant.id, 44)
        pushes.take_requested(session)  # handed over; its publish is lost

    assert sweep_pushes(older_than_seconds=3600) == 0  # not long enough yet
    with tenant_session(tenant.id) as session:
        session.execute(update(CrmPush).values(queued_at=func.now() - timedelta(hours=1)))
    assert sweep_pushes(older_than_seconds=600) == 1
    assert sweep_pushes(older_than_seconds=600) == 0  # stamped: the next sweep waits again
    assert [(name, kwargs) for name, kwargs in queued(redis_client)] == [
        (push_recording_note.name, {"tenant_id": tenant.id, "push_id": push_id})]


def test_a_push_recorded_and_never_queued_fails_the_commit_and_stores_nothing(tenant, redis_client):
    with pytest.raises(RuntimeError, match="nobody queued"), tenant_session(tenant.id) as session:
        pushes.request_recording_note(session, tenant.id, 43)

    assert push_rows(tenant) == []
    assert redis_client.llen("ghl_sync") == 0
