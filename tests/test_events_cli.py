"""`hookline events`, run as a real process against the test database and the test Redis."""

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, update

from hookline.db import tenant_session
from hookline.models import EventStatus, WebhookEvent
from hookline.redaction import REDACTED, redact
from hookline.services import inbox
from hookline.tasks.maintenance import relay_unpublished
from hookline.transport.published import mark_published
from tests.support.cli import hookline
from tests.support.webhooks import payload

UNREACHABLE_BROKER = {"HOOKLINE_BROKER_URL": "redis://127.0.0.1:1/0"}  # nothing listens on port 1


@pytest.fixture()
def queue(redis_client):
    """The ghl_sync queue as Celery's Redis transport keeps it: a list of JSON messages."""
    redis_client.delete("ghl_sync")
    yield lambda: [json.loads(raw)["headers"] for raw in redis_client.lrange("ghl_sync", 0, -1)]
    redis_client.delete("ghl_sync")  # no message left for a later test's worker


def seed(tenant, key, *, event_type="ContactCreate", provider="ghl", status=EventStatus.PENDING, error=None,
         age=timedelta(0)):
    """Store an event `age` old; `error` makes it failed, as a worker would have left it."""
    with tenant_session(tenant.id) as session:
        event_id = inbox.store(session, tenant.id, provider=provider, event_type=event_type, dedupe_key=key,
                               payload=payload("ghl/ContactCreate.json"), status=status).event_id
        if error is not None:
            inbox.mark_failed(session, tenant.id, event_id, error)
        session.execute(update(WebhookEvent).where(WebhookEvent.id == event_id)
                        .values(received_at=func.now() - age))
    return event_id


def row(tenant, event_id):
    with tenant_session(tenant.id) as session:
        return inbox.get(session, tenant.id, event_id)


def listed_ids(result):
    assert result.returncode == 0, result.stderr
    return [int(line.split()[0]) for line in result.stdout.splitlines()[1:]]


def test_list_is_newest_first_and_a_tenant_never_sees_another_tenants_events(tenant, other_tenant):
    old = seed(tenant, "old", age=timedelta(hours=2))
    new = seed(tenant, "new", age=timedelta(minutes=1))
    theirs = seed(other_tenant, "theirs", age=timedelta(hours=1))

    assert listed_ids(hookline("events", "list", "--tenant", "sunny-solar")) == [new, old]
    assert listed_ids(hookline("events", "list", "--tenant", "call-centre-two")) == [theirs]
    everyone = hookline("events", "list")
    assert listed_ids(everyone) == [new, theirs, old]
    assert everyone.stdout.splitlines()[2].split()[:6] == [str(theirs), "call-centre-two", "ghl", "ContactCreate",
                                                           "pending", "0"]
    assert listed_ids(hookline("events", "list", "--limit", "2")) == [new, theirs]


def test_list_filters_by_status_and_provider_and_shortens_the_error(tenant, other_tenant):
    pending = seed(tenant, "pending")
    failed = seed(tenant, "failed", error="ghl said no: " + "x" * 200 + "\nsecond line")
    other_provider = seed(tenant, "reonic", provider="reonic", event_type="DealWon", status=EventStatus.IGNORED)
    seed(other_tenant, "their-failure", error="theirs")

    failures = hookline("events", "list", "--tenant", "sunny-solar", "--status", "failed")
    reonic = hookline("events", "list", "--provider", "reonic")
    ghl_pending = hookline("events", "list", "--provider", "ghl", "--status", "pending")

    assert listed_ids(failures) == [failed]
    line = failures.stdout.splitlines()[1]
    assert line.endswith("ghl said no: " + "x" * 46 + "…") and "second line" not in line
    assert listed_ids(reonic) == [other_provider]
    assert listed_ids(ghl_pending) == [pending]


def test_list_with_nothing_to_show_says_so(tenant):
    result = hookline("events", "list", "--tenant", "sunny-solar")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no events for sunny-solar"


def test_show_prints_every_column_and_the_payload(tenant, other_tenant):
    event_id = seed(tenant, "dedupe-1", error="upstream 422")

    shown = hookline("events", "show", str(event_id))
    elsewhere = hookline("events", "show", str(event_id), "--tenant", "call-centre-two")

    assert shown.returncode == 0, shown.stderr
    head, body = shown.stdout.split("payload (secrets and personal fields redacted):\n")
    fields = dict(line.split(":", 1) for line in head.splitlines())
    assert {key: value.strip() for key, value in fields.items() if key not in ("received_at",)} == {
        "id": str(event_id), "tenant_id": f"sunny-solar ({tenant.id})", "provider": "ghl",
        "event_type": "ContactCreate", "dedupe_key": "dedupe-1", "status": "failed", "attempts": "1",
        "last_error": "upstream 422", "published_at": "-", "processed_at": "-",
    }
    assert json.loads(body) == redact(row(tenant, event_id).payload)
    assert json.loads(body)["locationId"] == "loc-sunny-001"
    assert json.loads(body)["email"] == REDACTED and "ana.lindqvist@example.com" not in shown.stdout
    assert elsewhere.returncode == 1
    assert f"no event {event_id} for tenant call-centre-two" in elsewhere.stderr


def test_replay_of_a_failed_event_publishes_it_as_pending(tenant, queue):
    event_id = seed(tenant, "failed", error="boom")

    result = hookline("events", "replay", str(event_id))

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "replayed 1 event"
    after = row(tenant, event_id)
    assert (after.status, after.last_error, after.attempts) == ("pending", None, 1)
    assert after.published_at is not None
    assert [(h["task"], h["tenant_id"], h["kwargsrepr"]) for h in queue()] == [
        ("hookline.tasks.ghl_sync.apply_event", tenant.id, repr({"tenant_id": tenant.id, "event_id": event_id}))
    ]


def test_a_processed_event_can_be_replayed_by_id(tenant, queue):
    event_id = seed(tenant, "done")
    with tenant_session(tenant.id) as session:
        mark_published(session, tenant.id, event_id)
        inbox.take(session, tenant.id, event_id)
    before = row(tenant, event_id)

    result = hookline("events", "replay", str(event_id), "--tenant", "sunny-solar")

    assert result.returncode == 0, result.stderr
    after = row(tenant, event_id)
    assert (after.status, after.attempts) == ("pending", 1)
    assert after.published_at > before.published_at  # cleared, then stamped by this publish
    assert len(queue()) == 1


def test_replay_failed_since_takes_only_recent_failures_of_every_tenant(tenant, other_tenant, queue):
    old = seed(tenant, "old", error="old", age=timedelta(hours=3))
    recent = seed(tenant, "recent", error="recent", age=timedelta(minutes=30))
    theirs = seed(other_tenant, "theirs", error="theirs", age=timedelta(minutes=10))
    pending = seed(tenant, "pending")

    result = hookline("events", "replay", "--failed", "--since", "2h")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "replayed 2 events"
    assert sorted(h["kwargsrepr"] for h in queue()) == sorted([
        repr({"tenant_id": tenant.id, "event_id": recent}), repr({"tenant_id": other_tenant.id, "event_id": theirs}),
    ])
    assert row(tenant, old).status == "failed"
    assert row(tenant, pending).published_at is None  # not failed: not touched


def test_replay_failed_of_one_tenant_since_an_iso_time(tenant, other_tenant, queue):
    seed(tenant, "old", error="old", age=timedelta(days=2))
    recent = seed(tenant, "recent", error="recent", age=timedelta(hours=1))
    theirs = seed(other_tenant, "theirs", error="theirs")
    since = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")  # naive: UTC

    result = hookline("events", "replay", "--failed", "--since", since, "--tenant", "sunny-solar")

    assert result.returncode == 0, result.stderr
    assert [h["kwargsrepr"] for h in queue()] == [repr({"tenant_id": tenant.id, "event_id": recent})]
    assert row(other_tenant, theirs).status == "failed"


def test_an_event_with_no_handler_is_skipped_with_a_message(tenant, queue):
    note = seed(tenant, "note", event_type="CampaignStatusUpdate", error="no handler then either")
    contact = seed(tenant, "contact", error="boom")

    by_id = hookline("events", "replay", str(note))
    by_status = hookline("events", "replay", "--failed")

    assert by_id.returncode == 1
    assert f"event {note} (sunny-solar): no handler for ghl CampaignStatusUpdate, skipped" in by_id.stdout
    assert by_id.stdout.splitlines()[-1] == "replayed 0 events (1 skipped: no handler)"
    assert by_status.returncode == 0, by_status.stderr
    assert by_status.stdout.splitlines()[-1] == "replayed 1 event (1 skipped: no handler)"
    assert row(tenant, note).status == "failed"
    assert [h["kwargsrepr"] for h in queue()] == [repr({"tenant_id": tenant.id, "event_id": contact})]


def test_with_the_broker_down_replay_leaves_pending_rows_for_the_relay(tenant, queue):
    first = seed(tenant, "first", error="boom")
    second = seed(tenant, "second", error="boom")

    result = hookline("events", "replay", "--failed", env=UNREACHABLE_BROKER)

    assert result.returncode == 0, result.stderr
    assert "warning: could not publish" in result.stderr
    assert "the relay (beat's maintenance.relay_unpublished) will publish them" in result.stderr
    assert result.stdout.splitlines()[-1] == "replayed 2 events (2 left to the relay)"
    for event_id in (first, second):
        after = row(tenant, event_id)
        assert (after.status, after.published_at, after.last_error) == ("pending", None, None)
    assert queue() == []
    assert relay_unpublished(older_than_seconds=0) == 2  # and the relay does


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("events", "list", "--tenant", "nobody"), 1, "no tenant with slug 'nobody'"),
        (("events", "show", "999999"), 1, "no event 999999"),
        (("events", "show", "abc"), 2, "'abc' is not a valid integer"),
        (("events", "replay", "999999"), 1, "no event 999999"),
        (("events", "replay", "--failed", "--tenant", "nobody"), 1, "no tenant with slug 'nobody'"),
        (("events", "replay", "--failed", "--since", "yesterday"), 2, "neither an ISO date-time nor a duration"),
        (("events", "replay", "--failed", "--since", "99999999999d"), 2, "neither an ISO date-time nor a duration"),
        (("events", "replay", "1", "--failed"), 2, "give an event ID or --failed, not both"),
        (("events", "replay"), 2, "give an event ID, or --failed"),
        (("events", "replay", "1", "--since", "2h"), 2, "--since goes with --failed"),
        (("events", "list", "--status", "lost"), 2, "'lost' is not one of"),
    ],
)
def test_bad_input_is_a_clear_error(tenant, args, code, message):
    result = hookline(*args)

    assert result.returncode == code, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
