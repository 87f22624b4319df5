"""GoHighLevel events applied to the CRM tables on real PostgreSQL: every documented event type,
out of order, twice, deleted first, and one tenant at a time."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DataError

from hookline.db import tenant_session
from hookline.integrations.ghl.schemas import EVENTS
from hookline.models import Appointment, Calendar, Contact, CrmTask, Deal, Note, Pipeline, PipelineStage
from hookline.services import contacts, crm, records
from tests.support.webhooks import PROVIDERS, payload, shared

RECEIVED = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
MODELS = {"contact": Contact, "deal": Deal, "appointment": Appointment, "note": Note, "task": CrmTask}


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def apply(tenant_id, event_type, body, received_at=RECEIVED):
    with tenant_session(tenant_id) as session:
        return crm.apply_ghl(session, tenant_id, event_type, body, received_at=received_at)


def row(tenant_id, model, external_id):
    with tenant_session(tenant_id) as session:
        return records.find(session, tenant_id, model, external_id)


def documented(event_type, **changes):
    """GoHighLevel's own example of the event, located at our tenant."""
    return {**shared(f"ghl_{event_type}.json"), "locationId": "loc-sunny-001", **changes}


# What each documented body must leave in its row (the examples' own values).
EXPECTED = {
    "ContactCreate": {"email": "JohnDeo@gmail.comm", "city": "ruDolomitebika", "dnd": True,
                      "custom_fields": [{"id": "BcdmQEsNgz6AVpgLVUJ0", "value": "XYZ Corp"}]},
    "ContactUpdate": {"email": "JohnDeo@gmail.comm", "tags": ["id magna sed Lorem", "Duis dolor commodo aliqua"]},
    "ContactTagUpdate": {"tags": ["id magna sed Lorem", "Duis dolor commodo aliqua"]},
    "ContactDndUpdate": {"dnd": True, "dnd_settings": {"SMS": {"status": "inactive", "message": "Some message",
                                                               "code": "101"}}},
    "OpportunityCreate": {"name": "Loram ipsu", "status": "open", "monetary_value": Decimal("40.00"),
                          "contact_external_id": "cJAWDskpkJHbRbhAT7bs"},
    "OpportunityUpdate": {"name": "Loram ipsu", "assigned_to": "bNl8QNGXhIQJLv8eeASQ"},
    "OpportunityStageUpdate": {"stage_id": ("e93ba61a-53b3-45e7-985a-c7732dbcdb69", PipelineStage),
                               "pipeline_id": ("VDm7RPYC2GLUvdpKmBfC", Pipeline)},
    "OpportunityStatusUpdate": {"status": "open"},
    "OpportunityMonetaryValueUpdate": {"monetary_value": Decimal("40.00")},
    "OpportunityAssignedToUpdate": {"assigned_to": "bNl8QNGXhIQJLv8eeASQ"},
    "AppointmentCreate": {"title": "Appointment with GHL Dev team", "status": "confirmed",
                          "calendar_id": ("BqTwX8QFwXzpegMve9EQ", Calendar),
                          "start_time": datetime(2023, 9, 25, 10, 30, tzinfo=timezone.utc),
                          "source_version": datetime(2023, 9, 25, 10, 30, tzinfo=timezone.utc)},
    "AppointmentUpdate": {"users": ["YlWd2wuCAZQzh2cH1fVZ", "9NkT25Vor1v4aQatFsv2"], "notes": "Some dummy note"},
    "NoteCreate": {"body": "Loram ipsum", "contact_external_id": "CWBf1PR9LvvBkcYqiXlc"},
    "NoteUpdate": {"body": "Loram ipsum"},
    "TaskCreate": {"title": "Loram ipsum", "completed": False,
                   "due_date": datetime(2021, 11, 26, 12, 41, 2, 193000, tzinfo=timezone.utc)},
    "TaskComplete": {"title": "test", "completed": True, "assigned_to": "bNl8QNGXhIQJLv8eeASQ"},
}
DELETES = sorted(name for name, kind in EVENTS.items() if kind.delete)


def test_every_documented_contact_opportunity_appointment_note_and_task_event_has_a_handler():
    families = ("Contact", "Opportunity", "Appointment", "Note", "Task")
    documented_types = {path.stem.removeprefix("ghl_") for path in PROVIDERS.glob("ghl_*.json")}
    wanted = {name for name in documented_types if name.startswith(families)}

    assert wanted == set(EVENTS) == set(EXPECTED) | set(DELETES)


@pytest.mark.parametrize("event_type", sorted(EXPECTED))
def test_a_documented_body_is_applied(tenant, event_type):
    body = documented(event_type)

    outcome = apply(tenant.id, event_type, body)  # the Appointment examples all say "AppointmentCreate"

    stored = row(tenant.id, MODELS[outcome.record], outcome.external_id)
    assert outcome.row_id == stored.id and stored.deleted_at is None
    for column, expected in EXPECTED[event_type].items():
        if isinstance(expected, tuple):  # a reference: the row it points at has the provider's id
            external_id, model = expected
            with tenant_session(tenant.id) as session:
                assert session.get(model, getattr(stored, column)).external_id == external_id
        elif isinstance(expected, dict):
            assert {key: getattr(stored, column)[key] for key in expected} == expected
        else:
            assert getattr(stored, column) == expected, column


@pytest.mark.parametrize("event_type", DELETES)
def test_a_documented_delete_leaves_a_tombstone(tenant, event_type):
    create = event_type.replace("Delete", "Create")
    apply(tenant.id, create, documented(create), received_at=RECEIVED)

    outcome = apply(tenant.id, event_type, documented(event_type), received_at=RECEIVED + timedelta(minutes=1))

    stored = row(tenant.id, MODELS[outcome.record], outcome.external_id)
    assert stored.deleted_at is not None and outcome.row_id == stored.id
    with tenant_session(tenant.id) as session:
        assert records.live(session, tenant.id, MODELS[outcome.record]) == []


def test_an_older_update_never_overwrites_a_newer_one(tenant):
    newer = payload("ghl/ContactUpdate.json", timestamp=at(60))
    older = payload("ghl/ContactCreate.json", timestamp=at(10), type="ContactUpdate", email="old@example.com")

    applied = apply(tenant.id, "ContactUpdate", newer)
    dropped = apply(tenant.id, "ContactUpdate", older)

    assert applied.row_id is not None and dropped.row_id is None
    stored = row(tenant.id, Contact, "ct-ana-lindqvist-01")
    assert (stored.email, stored.source_version) == ("ana@lindqvist.example.com", T0 + timedelta(minutes=60))


def test_date_updated_is_the_version_before_the_delivery_timestamp(tenant):
    appointment = shared("ghl_AppointmentUpdate.json")["appointment"]
    body = documented("AppointmentUpdate", timestamp=at(0),
                      appointment={**appointment, "dateUpdated": "2026-11-20T08:30:00Z", "title": "first"})
    later = documented("AppointmentUpdate", timestamp=at(-30),  # delivered with an older stamp, yet newer
                       appointment={**appointment, "dateUpdated": "2026-11-20T08:45:00Z", "title": "second"})

    apply(tenant.id, "AppointmentUpdate", body)
    apply(tenant.id, "AppointmentUpdate", later)

    stored = row(tenant.id, Appointment, appointment["id"])
    assert (stored.title, stored.source_version) == ("second", datetime(2026, 11, 20, 8, 45, tzinfo=timezone.utc))


def test_without_any_version_the_time_received_orders_events(tenant):
    body = documented("NoteUpdate", body="first")  # the documented bodies carry no timestamp

    apply(tenant.id, "NoteUpdate", body, received_at=RECEIVED + timedelta(seconds=5))
    dropped = apply(tenant.id, "NoteUpdate", {**body, "body": "stale"}, received_at=RECEIVED)

    assert dropped.row_id is None
    assert row(tenant.id, Note, body["id"]).body == "first"


def test_a_delete_before_its_create_leaves_no_ghost(tenant):
    deleted = apply(tenant.id, "OpportunityDelete", payload("ghl/OpportunityDelete.json", timestamp=at(180)))

    late_create = apply(tenant.id, "OpportunityCreate", payload("ghl/OpportunityCreate.json", timestamp=at(20)))
    late_update = apply(tenant.id, "OpportunityUpdate", payload("ghl/OpportunityUpdate.json", timestamp=at(90)))
    late_stage = apply(tenant.id, "OpportunityStageUpdate",
                       payload("ghl/OpportunityStageUpdate.json", timestamp=at(120)))

    assert deleted.row_id is not None
    assert (late_create.row_id, late_update.row_id, late_stage.row_id) == (None, None, None)
    stored = row(tenant.id, Deal, "op-lindqvist-pv-01")
    assert stored.deleted_at == stored.source_version == T0 + timedelta(minutes=180)
    assert stored.name is None  # the tombstone holds no fields of the record
    with tenant_session(tenant.id) as session:
        assert records.live(session, tenant.id, Deal) == []


def test_a_delete_wins_a_tie_with_an_update_in_either_order(tenant, other_tenant):
    body = documented("NoteUpdate", timestamp=at(5))
    delete = documented("NoteDelete", timestamp=at(5))

    apply(tenant.id, "NoteUpdate", body)
    apply(tenant.id, "NoteDelete", delete)
    apply(other_tenant.id, "NoteDelete", {**delete, "locationId": "loc-callcentre-002"})
    apply(other_tenant.id, "NoteUpdate", {**body, "locationId": "loc-callcentre-002"})

    assert row(tenant.id, Note, body["id"]).deleted_at == T0 + timedelta(minutes=5)
    assert row(other_tenant.id, Note, body["id"]).deleted_at == T0 + timedelta(minutes=5)


def test_a_change_newer_than_the_delete_brings_the_record_back(tenant):
    apply(tenant.id, "ContactDelete", payload("ghl/ContactCreate.json", type="ContactDelete", timestamp=at(10)))

    revived = apply(tenant.id, "ContactUpdate", payload("ghl/ContactUpdate.json", timestamp=at(11)))

    stored = row(tenant.id, Contact, "ct-ana-lindqvist-01")
    assert revived.row_id == stored.id
    assert (stored.deleted_at, stored.email) == (None, "ana@lindqvist.example.com")


def test_a_duplicate_changes_nothing(tenant):
    body = payload("ghl/OpportunityCreate.json", timestamp=at(0))
    first = apply(tenant.id, "OpportunityCreate", body)
    before = row(tenant.id, Deal, "op-lindqvist-pv-01")

    again = apply(tenant.id, "OpportunityCreate", body)
    as_update = apply(tenant.id, "OpportunityUpdate", {**body, "type": "OpportunityUpdate"})

    assert first.row_id is not None and (again.row_id, as_update.row_id) == (None, None)
    after = row(tenant.id, Deal, "op-lindqvist-pv-01")
    assert (after.updated_at, after.name, after.monetary_value) == (before.updated_at, before.name, before.monetary_value)


def test_a_partial_event_updates_only_its_fields(tenant):
    apply(tenant.id, "OpportunityCreate", payload("ghl/OpportunityCreate.json", timestamp=at(0)))
    stage_update = {**payload("ghl/OpportunityStageUpdate.json", timestamp=at(30)), "name": "renamed elsewhere",
                    "monetaryValue": 1}

    apply(tenant.id, "OpportunityStageUpdate", stage_update)

    stored = row(tenant.id, Deal, "op-lindqvist-pv-01")
    with tenant_session(tenant.id) as session:
        stage = session.get(PipelineStage, stored.stage_id)
        pipeline = session.get(Pipeline, stage.pipeline_id)
    assert (stage.external_id, pipeline.external_id) == ("st-site-visit", "pl-residential")
    assert (stored.name, stored.monetary_value) == ("Lindqvist PV 9.6 kWp", Decimal("18450.50"))
    assert stored.source_version == T0 + timedelta(minutes=30)


def test_an_older_partial_event_is_dropped(tenant):
    apply(tenant.id, "OpportunityCreate", payload("ghl/OpportunityCreate.json", timestamp=at(40), status="won"))

    dropped = apply(tenant.id, "OpportunityStatusUpdate",
                    payload("ghl/OpportunityCreate.json", type="OpportunityStatusUpdate", timestamp=at(35),
                            status="lost"))

    assert dropped.row_id is None
    assert row(tenant.id, Deal, "op-lindqvist-pv-01").status == "won"


def test_a_partial_event_before_its_create_makes_the_row_from_its_body(tenant):
    apply(tenant.id, "ContactTagUpdate", payload("ghl/ContactUpdate.json", type="ContactTagUpdate", timestamp=at(50)))

    late_create = apply(tenant.id, "ContactCreate", payload("ghl/ContactCreate.json", timestamp=at(0)))

    assert late_create.row_id is None
    stored = row(tenant.id, Contact, "ct-ana-lindqvist-01")
    assert (stored.tags, stored.email) == (["solar", "roof-south", "offer-sent"], "ana@lindqvist.example.com")


def test_task_complete_marks_the_task_completed_and_keeps_the_rest(tenant):
    create = documented("TaskCreate", timestamp=at(0))
    apply(tenant.id, "TaskCreate", create)

    apply(tenant.id, "TaskComplete", {**create, "type": "TaskComplete", "timestamp": at(5), "title": "other"})

    stored = row(tenant.id, CrmTask, create["id"])
    assert (stored.completed, stored.title) == (True, "Loram ipsum")


def test_another_tenants_event_for_the_same_id_never_touches_this_tenants_row(tenant, other_tenant):
    apply(tenant.id, "OpportunityCreate", payload("ghl/OpportunityCreate.json", timestamp=at(0)))
    theirs = payload("ghl/OpportunityUpdate.json", timestamp=at(60), locationId="loc-callcentre-002")

    apply(other_tenant.id, "OpportunityUpdate", theirs)
    apply(other_tenant.id, "OpportunityDelete",
          payload("ghl/OpportunityDelete.json", timestamp=at(70), locationId="loc-callcentre-002"))

    mine = row(tenant.id, Deal, "op-lindqvist-pv-01")
    assert (mine.name, mine.deleted_at, mine.source_version) == ("Lindqvist PV 9.6 kWp", None, T0)
    other = row(other_tenant.id, Deal, "op-lindqvist-pv-01")
    assert other.id != mine.id and other.deleted_at is not None
    with tenant_session(other_tenant.id) as session:  # row-level security: not even without a WHERE
        assert {deal.tenant_id for deal in session.scalars(select(Deal))} == {other_tenant.id}
        assert {p.tenant_id for p in session.scalars(select(Pipeline))} == {other_tenant.id}


def test_a_deleted_contact_is_left_out_of_the_latest(tenant):
    apply(tenant.id, "ContactCreate", payload("ghl/ContactCreate.json", timestamp=at(0)))
    apply(tenant.id, "NoteCreate", payload("ghl/NoteCreate.json", timestamp=at(1)))
    apply(tenant.id, "ContactDelete", payload("ghl/ContactCreate.json", type="ContactDelete", timestamp=at(2)))

    with tenant_session(tenant.id) as session:
        assert contacts.latest(session, tenant.id) == []
        assert [note.body for note in records.live(session, tenant.id, Note)] == ["Customer asked for a battery option."]


def test_an_event_type_without_a_handler_is_refused():
    with pytest.raises(crm.NotHandled, match="CampaignStatusUpdate"):
        crm.ghl_change("CampaignStatusUpdate", shared("ghl_CampaignStatusUpdate.json"), received_at=RECEIVED)


def test_two_different_events_of_the_same_instant_both_apply_in_turn(tenant):
    body = documented("NoteUpdate", timestamp=at(7), body="first")

    apply(tenant.id, "NoteUpdate", body)
    second = apply(tenant.id, "NoteUpdate", {**body, "body": "second"})

    assert second.row_id is not None
    assert row(tenant.id, Note, body["id"]).body == "second"


def test_changes_of_any_shape_share_the_kept_statements_and_keep_the_models_defaults(tenant):
    # records.apply keeps one compiled statement per (record, delete, columns): a change naming
    # only some columns still gets the model's Python-side defaults.
    sparse = records.Change(provider="ghl", external_id="ct-sparse", version=T0, values={"email": "a@example.com"})
    other_shape = records.Change(provider="ghl", external_id="ct-sparse", version=T0 + timedelta(minutes=1),
                                 values={"tags": ["late"], "dnd_settings": None}, fields=frozenset({"tags"}))

    with tenant_session(tenant.id) as session:
        made = records.apply(session, tenant.id, Contact, sparse)
        again = records.apply(session, tenant.id, Contact, sparse)
        changed = records.apply(session, tenant.id, Contact, other_shape)

    stored = row(tenant.id, Contact, "ct-sparse")
    assert made is not None and again is None and changed == made
    assert (stored.email, stored.dnd, stored.tags, stored.custom_fields) == ("a@example.com", False, ["late"], [])
    assert stored.source_version == T0 + timedelta(minutes=1)


def page_change(external_id, minutes, **values):
    return records.Change(provider="ghl", external_id=external_id, version=T0 + timedelta(minutes=minutes),
                          values={"email": None, "tags": [], **values})


def apply_page(tenant_id, changes):
    with tenant_session(tenant_id) as session:
        return records.apply_many(session, tenant_id, Contact, changes)


def test_a_page_applies_the_ordering_rule_row_by_row(tenant):
    apply_page(tenant.id, [page_change("c-old", 10, email="kept@example.com"),
                           page_change("c-same", 10, email="same@example.com")])

    written = apply_page(tenant.id, [
        page_change("c-old", 5, email="stale@example.com"),  # older than the row: dropped
        page_change("c-same", 10, email="same@example.com"),  # a duplicate: writes nothing
        page_change("c-new", 1, email="new@example.com", tags=["solar"]),  # inserted
        page_change("c-twice", 1, email="first@example.com"),
        page_change("c-twice", 2, email="second@example.com"),  # twice in the page: the newer wins
    ])

    assert written == 2
    assert row(tenant.id, Contact, "c-old").email == "kept@example.com"
    assert row(tenant.id, Contact, "c-twice").email == "second@example.com"
    new = row(tenant.id, Contact, "c-new")
    assert (new.tags, new.custom_fields, new.dnd, new.deleted_at) == (["solar"], [], False, None)  # defaults too


def test_a_page_value_too_long_for_its_column_is_refused_not_cut(tenant):
    with pytest.raises(DataError, match="too long"):
        apply_page(tenant.id, [page_change("c-long", 1, email="x" * 400 + "@example.com")])

    assert row(tenant.id, Contact, "c-long") is None


def test_a_page_writes_only_its_own_tenants_rows(tenant, other_tenant):
    apply_page(other_tenant.id, [page_change("c-shared", 1, email="other@example.com")])

    apply_page(tenant.id, [page_change("c-shared", 5, email="mine@example.com")])

    assert row(other_tenant.id, Contact, "c-shared").email == "other@example.com"
    assert row(tenant.id, Contact, "c-shared").email == "mine@example.com"


def stored_columns(tenant_id, model, external_id, columns):
    stored = row(tenant_id, model, external_id)
    return {name: getattr(stored, name) for name in columns}


def test_a_page_stores_every_kind_of_value_as_apply_does_and_a_repeat_writes_nothing(tenant):
    offset = timezone(timedelta(hours=2))
    contact = {"email": "ä@example.com", "dnd_settings": None, "tags": ["solar", "ö"],
               "custom_fields": [{"id": "f1", "value": {"nested": [1, 2.5, None, True]}}],
               "date_added": datetime(2026, 11, 1, 8, 30, 15, 123456, tzinfo=offset), "dnd": True}
    deal = {"name": "Roof", "monetary_value": Decimal("1234.56"), "date_added": T0}
    with tenant_session(tenant.id) as session:
        records.apply(session, tenant.id, Contact, records.Change("ghl", "c-one", T0, contact))
        records.apply(session, tenant.id, Deal, records.Change("ghl", "d-one", T0, deal))
    assert apply_page(tenant.id, [records.Change("ghl", "c-page", T0, contact)]) == 1
    with tenant_session(tenant.id) as session:
        assert records.apply_many(session, tenant.id, Deal, [records.Change("ghl", "d-page", T0, deal)]) == 1

    assert stored_columns(tenant.id, Contact, "c-page", contact) == stored_columns(tenant.id, Contact, "c-one", contact)
    assert stored_columns(tenant.id, Deal, "d-page", deal) == stored_columns(tenant.id, Deal, "d-one", deal)
    with tenant_session(tenant.id) as session:  # None in a JSONB column is JSON null, as apply stores it
        assert session.scalars(select(Contact.id).where(
            Contact.external_id.in_(["c-one", "c-page"]), Contact.dnd_settings.is_(None))).all() == []
    # Identical values again are a duplicate, whichever way they were stored first.
    assert apply_page(tenant.id, [records.Change("ghl", name, T0, contact) for name in ("c-one", "c-page")]) == 0


def test_a_page_value_postgresql_cannot_store_is_refused(tenant):
    with pytest.raises(DataError):
        apply_page(tenant.id, [page_change("c-nul", 1, email="a\x00b@example.com")])

    assert row(tenant.id, Contact, "c-nul") is None
