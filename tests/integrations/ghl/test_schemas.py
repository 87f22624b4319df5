"""Our schemas against GoHighLevel's documented bodies (tests/fixtures/providers) and ours."""

import json

import pytest

from hookline.integrations.ghl.schemas import ContactEvent, Envelope
from hookline.services.contacts import ContactData
from tests.support.webhooks import FIXTURES, PROVIDERS

DOCUMENTED = sorted(PROVIDERS.glob("ghl_*.json"))


def test_the_documented_samples_are_there():
    assert len(DOCUMENTED) > 50, f"expected GoHighLevel samples in {PROVIDERS}"


AGENCY_LEVEL = {"ghl_AppInstall_agency", "ghl_AppUninstall_agency", "ghl_UserCreate_agency_user"}


@pytest.mark.parametrize("path", DOCUMENTED, ids=lambda p: p.stem)
def test_every_documented_location_event_names_its_location(path):
    body = json.loads(path.read_text())

    envelope = Envelope.model_validate(body)

    if path.stem in AGENCY_LEVEL:
        assert envelope.location is None and envelope.company_id
    else:
        assert envelope.location in (body.get("locationId"), body.get("altId"), body.get("id"))
        assert envelope.location


@pytest.mark.parametrize("event", ["ContactCreate", "ContactUpdate"])
def test_documented_and_own_contact_bodies_map_to_the_same_fields(event):
    documented = json.loads((PROVIDERS / f"ghl_{event}.json").read_text())
    ours = json.loads((FIXTURES / "ghl" / f"{event}.json").read_text())

    assert set(documented) <= set(ours), "our fixture lacks fields GoHighLevel documents"
    contact = ContactData.from_ghl(documented)
    assert contact.external_id == documented["id"]
    assert contact.email == documented["email"]
    assert contact.custom_fields == [{"id": "BcdmQEsNgz6AVpgLVUJ0", "value": "XYZ Corp"}]
    assert ContactEvent.model_validate(ours).id == ours["id"]
