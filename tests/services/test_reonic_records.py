"""Reonic contacts, residential projects and offers (signature requests) as the v3 API returns
them, applied under the same ordering rule as GoHighLevel events (real PostgreSQL)."""

import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from hookline.db import tenant_session
from hookline.integrations.reonic.records import ReonicContact, ResidentialProject, SignatureRequest
from hookline.models import Contact, ResidentialOffer
from hookline.models import ResidentialProject as ProjectRow
from hookline.services import crm, records
from tests.support.webhooks import FIXTURES

SPEC = FIXTURES / "openapi" / "reonic" / "reonic-v3.json"


def fixture(name, **changes):
    return {**json.loads((FIXTURES / "reonic" / f"{name}.json").read_text()), **changes}


def apply(tenant_id, record):
    with tenant_session(tenant_id) as session:
        return crm.apply_reonic(session, tenant_id, record)


def row(tenant_id, model, external_id):
    with tenant_session(tenant_id) as session:
        return records.find(session, tenant_id, model, external_id, provider="reonic")


@pytest.mark.parametrize(("name", "schema"), [("contact", "Contact"), ("residential_project", "ResidentialProject"),
                                              ("signature_request", "ResidentialProjectSignatureRequest")])
def test_our_fixtures_carry_every_field_the_reonic_spec_requires(name, schema):
    spec = json.loads(SPEC.read_text())["components"]["schemas"][schema]

    assert set(spec["required"]) <= set(fixture(name))


def test_a_contact_is_stored_as_a_reonic_contact(tenant):
    outcome = apply(tenant.id, ReonicContact.model_validate(fixture("contact")))

    stored = row(tenant.id, Contact, "7f1b2c3d-0001-4e5f-8a9b-0c1d2e3f4a5b")
    assert outcome.row_id == stored.id
    assert (stored.provider, stored.name, stored.email, stored.phone, stored.address1, stored.postal_code) == (
        "reonic", "Jonas Becker", "jonas.becker@example.com", "+4917612345678", "Lindenstraße 4a", "14467")
    assert stored.source_version == datetime(2026, 11, 19, 10, tzinfo=timezone.utc)


def test_an_older_read_of_a_project_never_overwrites_a_newer_one(tenant):
    newer = ResidentialProject.model_validate(fixture("residential_project", stage="installation"))
    older = ResidentialProject.model_validate(fixture("residential_project", updatedAt="2026-11-19T09:00:00Z"))

    apply(tenant.id, newer)
    dropped = apply(tenant.id, older)

    stored = row(tenant.id, ProjectRow, newer.id)
    assert dropped.row_id is None
    assert (stored.stage, stored.deal_state, stored.contact_external_id) == (
        "installation", "Open", "7f1b2c3d-0001-4e5f-8a9b-0c1d2e3f4a5b")
    assert (stored.total_price, stored.tag_ids) == (Decimal("23900.00"), ["e3f4a5b6-0006-4c7d-9e8f-0a1b2c3d4e5f"])


def test_a_deleted_contact_is_a_tombstone_an_older_read_cannot_revive(tenant):
    apply(tenant.id, ReonicContact.model_validate(
        fixture("contact", updatedAt="2026-11-20T08:00:00Z", deletedAt="2026-11-20T08:00:00Z")))

    late = apply(tenant.id, ReonicContact.model_validate(fixture("contact")))

    assert late.row_id is None
    assert row(tenant.id, Contact, "7f1b2c3d-0001-4e5f-8a9b-0c1d2e3f4a5b").deleted_at is not None


def test_a_signature_request_moves_forward_only(tenant, other_tenant):
    signed = SignatureRequest.model_validate(fixture(
        "signature_request", status="signed", signedAt="2026-11-21T09:30:00Z",
        signedVariantId="f4a5b6c7-0007-4d8e-8f90-1a2b3c4d5e6f"))
    awaiting = SignatureRequest.model_validate(fixture("signature_request"))

    apply(tenant.id, signed)
    dropped = apply(tenant.id, awaiting)
    apply(other_tenant.id, awaiting)

    stored = row(tenant.id, ResidentialOffer, signed.id)
    assert dropped.row_id is None
    assert (stored.status, stored.signed_variant_id, stored.variant_ids) == (
        "signed", "f4a5b6c7-0007-4d8e-8f90-1a2b3c4d5e6f", ["f4a5b6c7-0007-4d8e-8f90-1a2b3c4d5e6f"])
    assert stored.source_version == datetime(2026, 11, 21, 9, 30, tzinfo=timezone.utc)
    assert row(other_tenant.id, ResidentialOffer, signed.id).status == "awaitingSignature"
