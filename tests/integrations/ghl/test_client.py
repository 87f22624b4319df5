"""The GoHighLevel client against the fake server: pagination, writes, a streamed recording."""

from __future__ import annotations

import io

import pytest

from hookline.integrations.auth import HeaderAuth, StaticToken, TokenSet
from hookline.integrations.errors import NotFound, Permanent
from hookline.integrations.ghl import client as ghl
from hookline.integrations.ghl.resources import ContactIn, OpportunityIn, OpportunityUpdate
from tests.support.fake_ghl import RECORDING
from tests.support.tokens import MemoryTokenStore


@pytest.fixture()
def client(fake, fake_url, limiter) -> ghl.GHLClient:
    access, _ = fake.issue("loc-1")
    auth = HeaderAuth(StaticToken(MemoryTokenStore(TokenSet(access)), "private-integration token"))
    return ghl.make_client(base_url=fake_url, auth=auth, limiter=limiter, location_id="loc-1", app_id="app-1")


def test_contact_search_pages_through_every_contact_once(fake, client):
    fake.add_contacts("loc-1", 250)
    fake.add_contacts("loc-other", 5)

    ids = [contact.id for contact in client.iter_contacts(page_limit=100)]

    assert len(ids) == 250 == len(set(ids))
    assert len(fake.accepted["loc-1"]) == 3


def test_opportunity_search_follows_the_start_after_cursor(fake, client):
    fake.add_opportunities("loc-1", 120)

    ids = [opportunity.id for opportunity in client.iter_opportunities(limit=50)]

    assert len(ids) == 120 == len(set(ids))
    assert len(fake.accepted["loc-1"]) == 3


def test_upsert_creates_then_updates_the_same_contact(client):
    first = client.upsert_contact(ContactIn(location_id="loc-1", email="ana@example.com", first_name="Ana"))
    second = client.upsert_contact(ContactIn(location_id="loc-1", email="ana@example.com", tags=["solar"]))

    assert (first.new, second.new) == (True, False)
    assert second.contact.id == first.contact.id
    assert client.get_contact(first.contact.id).tags == ["solar"]


def test_opportunity_create_update_and_status(client):
    pipeline = client.pipelines()[0]
    created = client.create_opportunity(OpportunityIn(location_id="loc-1", pipeline_id=pipeline.id, name="Roof",
                                                      status="open", contact_id="c1"))

    client.update_opportunity(created.id, OpportunityUpdate(monetary_value=12_500, pipeline_stage_id=pipeline.stages[0].id))
    client.set_opportunity_status(created.id, "won")

    stored = client.get_opportunity(created.id)
    assert (stored.status, stored.monetary_value) == ("won", 12_500)


def test_notes_are_written_and_read_back(fake, client):
    fake.add_contacts("loc-1", 1)

    note = client.create_note("c1", "Called, wants an offer")

    assert [n.body for n in client.notes("c1")] == ["Called, wants an offer"]
    assert note.contact_id == "c1"


def test_a_missing_contact_is_not_found_and_a_bad_search_is_permanent(fake, client):
    with pytest.raises(NotFound):
        client.get_contact("c-missing")
    with pytest.raises(Permanent):
        client.search_contacts(page_limit=0)  # the fake, like GoHighLevel, wants a pageLimit


def test_a_call_recording_is_streamed_to_a_file(client):
    out = io.BytesIO()

    written = client.download_recording("msg-1", out)

    assert written == len(RECORDING)
    assert out.getvalue() == RECORDING
