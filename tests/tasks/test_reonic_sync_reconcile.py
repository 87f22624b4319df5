"""Reconciliation of a Reonic account in-process against the respx fake: backfill page by page,
incremental since the cursor, resumed from the cursor after a failure, projects and their offers,
and beat's reconcile_all for Reonic-connected tenants only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from hookline.db import global_session, tenant_session
from hookline.models import Contact, ResidentialOffer, ResidentialProject, SyncRun
from hookline.services import sync
from hookline.services.tenants import add_tenant
from hookline.tasks.reonic_sync import reconcile, reconcile_all
from tests.support.cli import hookline
from tests.support.fake_reonic import sample
from tests.support.sync import sync_row

START = datetime(2026, 11, 1, tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def add_contacts(fake, count: int) -> None:
    """Contacts created one minute apart; each last changed in reverse order (the oldest changed last)."""
    for n in range(count):
        contact_id = f"c-{n:04d}"
        fake.contacts[contact_id] = sample("contact", id=contact_id, lastName=f"Becker {n}",
                                           createdAt=stamp(START + timedelta(minutes=n)),
                                           updatedAt=stamp(START + timedelta(days=1, minutes=count - n)))


def run(tenant, resource="contacts", *, full=False, expect="started"):
    with tenant_session(tenant.id) as session:
        assert sync.start(session, tenant.id, "reonic", resource, full=full, stale_after=900) == expect
    reconcile.apply(kwargs={"tenant_id": tenant.id, "resource": resource}).get()


def stored(tenant, model=Contact) -> dict[str, object]:
    with tenant_session(tenant.id) as session:
        return {row.external_id: row for row in session.scalars(
            select(model).where(model.tenant_id == tenant.id, model.provider == "reonic"))}


def list_calls(fake, path="/contacts"):
    return [dict(request.url.params) for request in fake.calls(path)]


@pytest.fixture()
def pages_per_task(monkeypatch):
    from hookline.config import get_settings

    monkeypatch.setenv("HOOKLINE_SYNC_PAGES_PER_TASK", "50")  # one task reads the whole run, in-process
    get_settings.cache_clear()


def test_a_backfill_reads_every_page_and_records_its_progress(tenant, reonic, pages_per_task):
    add_contacts(reonic, 250)

    run(tenant, full=True)

    assert set(stored(tenant)) == set(reonic.contacts)
    calls = list_calls(reonic)
    assert [c["page"] for c in calls] == ["1", "2", "3"]
    assert {(c["itemsPerPage"], c["sort"], c.get("updatedAt.gt")) for c in calls} == {("100", "createdAt", None)}
    row = sync_row(tenant, provider="reonic")
    assert (row.state, row.full, row.total, row.pages, row.rows, row.last_error) == ("idle", True, 250, 3, 250, None)
    latest = max(contact["updatedAt"] for contact in reonic.contacts.values())
    assert row.cursor == {"since": stamp(datetime.fromisoformat(latest) - timedelta(milliseconds=1)), "page": 1}


def test_an_incremental_run_reads_only_what_changed_since_the_cursor(tenant, reonic, pages_per_task):
    add_contacts(reonic, 120)
    run(tenant, full=True)
    before = len(reonic.requests)
    latest = max(datetime.fromisoformat(c["updatedAt"]) for c in reonic.contacts.values())
    for contact_id in ("c-0005", "c-0100"):
        reonic.contacts[contact_id].update(lastName="Changed", updatedAt=stamp(latest + timedelta(hours=1)))

    run(tenant)

    [incremental] = [dict(r.url.params) for r in reonic.requests[before:]]
    assert incremental["updatedAt.gt"] == stamp(latest - timedelta(milliseconds=1))
    contacts = stored(tenant)
    assert contacts["c-0005"].last_name == contacts["c-0100"].last_name == "Changed"
    # the two changed, and the one changed at the cursor's instant (read again; it writes nothing)
    assert sync_row(tenant, provider="reonic").rows == 3


def test_a_run_that_failed_mid_way_resumes_from_its_cursor(tenant, reonic, pages_per_task):
    add_contacts(reonic, 250)
    reonic.outage["/contacts?page=2"] = httpx.Response(403, json={"message": "Forbidden"})
    run(tenant, full=True)
    failed = sync_row(tenant, provider="reonic")
    assert (failed.state, failed.pages, failed.cursor["page"]) == ("failed", 1, 2)
    assert failed.last_error.startswith("RejectedError") and "403" in failed.last_error
    assert len(stored(tenant)) == 100  # the first page committed with its cursor

    reonic.outage.clear()
    run(tenant)  # not --full: from the stored cursor

    assert [c["page"] for c in list_calls(reonic)] == ["1", "2", "2", "3"]
    assert set(stored(tenant)) == set(reonic.contacts)
    assert sync_row(tenant, provider="reonic").state == "idle"


def test_projects_archived_included_and_the_offers_of_changed_projects(tenant, reonic, pages_per_task):
    for n in range(12):
        project_id = f"p-{n:02d}"
        reonic.projects[project_id] = sample("residential_project", id=project_id,
                                             projectCreatedAt=stamp(START + timedelta(minutes=n)),
                                             archivedAt=stamp(START) if n == 3 else None)
        reonic.signature_requests[f"s-{n:02d}"] = sample("signature_request", id=f"s-{n:02d}", projectId=project_id)

    run(tenant, "projects", full=True)
    run(tenant, "offers", full=True)

    projects = stored(tenant, ResidentialProject)
    assert set(projects) == set(reonic.projects) and projects["p-03"].archived_at is not None
    assert {c["archived"] for c in list_calls(reonic, "/residentialProjects")} == {"include"}
    assert set(stored(tenant, ResidentialOffer)) == set(reonic.signature_requests)
    offers = sync_row(tenant, "offers", provider="reonic")
    assert (offers.pages, offers.rows, offers.state) == (2, 12, "idle")  # ten projects a page: one call each


def test_a_page_read_never_overwrites_a_newer_webhook_change(tenant, reonic, pages_per_task):
    add_contacts(reonic, 3)
    with tenant_session(tenant.id) as session:
        from hookline.integrations.reonic.records import ReonicContact
        from hookline.services import crm

        newer = sample("contact", id="c-0001", lastName="From a webhook", updatedAt="2027-01-01T00:00:00.000Z")
        crm.apply_reonic(session, tenant.id, ReonicContact.model_validate(newer))

    run(tenant, full=True)

    assert stored(tenant)["c-0001"].last_name == "From a webhook"


def test_reconcile_all_starts_each_reonic_resource_of_reonic_tenants_only(tenant, reonic):
    with global_session() as session:
        ghl_only = add_tenant(session, "GHL Only", ghl_location_id="loc-ghl-only")

    started = reconcile_all()

    assert started == 3
    with tenant_session(tenant.id) as session:
        runs = session.execute(select(SyncRun.provider, SyncRun.resource, SyncRun.state)
                               .order_by(SyncRun.resource)).all()
    with tenant_session(ghl_only.id) as session:
        assert session.scalar(select(func.count()).select_from(SyncRun)) == 0
    assert runs == [("reonic", resource, "running") for resource in ("contacts", "offers", "projects")]
    assert reconcile_all() == 0  # live runs are left alone


def test_sync_start_takes_the_provider_and_refuses_what_it_cannot_read(tenant, reonic):
    with global_session() as session:
        add_tenant(session, "GHL Only", ghl_location_id="loc-ghl-only")

    started = hookline("sync", "start", "--tenant", tenant.slug, "--provider", "reonic", "--resource", "projects")
    unconnected = hookline("sync", "start", "--tenant", "ghl-only", "--provider", "reonic")
    unknown = hookline("sync", "start", "--tenant", tenant.slug, "--provider", "ghl", "--resource", "offers")
    status = hookline("sync", "status", "--tenant", tenant.slug)

    assert started.returncode == 0, started.stderr
    assert "started an incremental sync" in started.stdout
    assert sync_row(tenant, "projects", provider="reonic").state == "running"
    assert unconnected.returncode != 0 and "no Reonic connection" in unconnected.stderr
    assert unknown.returncode != 0 and "no reconciliation for ghl/offers" in unknown.stderr
    assert "reonic/projects" in status.stdout
