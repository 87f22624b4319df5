"""What the reconciliation can read, one Source per provider and resource.

Adding a resource (opportunities, appointments, …) is one `read` function (a page from the
API and the cursor after it), one `store` function (the service upsert) and a SOURCES entry;
the task, the cursor table, beat and `hookline sync` need no change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy.orm import Session

from hookline.integrations.reonic.records import ReonicContact, ReonicRecord, ResidentialProject, SignatureRequest
from hookline.services import crm
from hookline.services.sync import Page


@dataclass(frozen=True)
class Source:
    provider: str
    resource: str
    task: str  # the task that reads it (its module is the provider's queue)
    read: Callable[[Any, dict[str, Any], int], Page]  # (client, cursor, page limit) → Page
    store: Callable[[Session, int, Any], None]  # (session, tenant id, one item)


def read_ghl_contacts(client: Any, cursor: dict[str, Any], page_limit: int) -> Page:
    """Keyset on dateUpdated: `since` is the last change seen, `page` only walks ties at it.

    Reading from `since` inclusive re-reads the contacts changed at exactly that instant (an
    upsert again, harmless), and a contact changed while we read moves to the end, so no page
    shifts under us the way plain page numbers over a changing list would.
    """
    since, number = cursor.get("since"), int(cursor.get("page", 1))
    batch = client.contacts_updated_since(since, page=number, page_limit=page_limit)
    found = batch.contacts
    last = found[-1].date_updated if found else None
    if len(found) < page_limit:
        following, done = {"since": last or since, "page": 1}, True
    elif last == since:  # a full page of one instant: walk on through the tie
        following, done = {"since": since, "page": number + 1}, False
    else:
        following, done = {"since": last, "page": 1}, False
    return Page(found, following, done, total=batch.total)


def store_ghl_contact(session: Session, tenant_id: int, contact: Any) -> None:
    """Through the same ordering rule as the webhooks (services/records.py): the contact's own
    dateUpdated is its version, so a page read never overwrites a newer webhook's change."""
    crm.apply_ghl(session, tenant_id, "ContactUpdate", contact.model_dump(by_alias=True),
                  received_at=datetime.now(timezone.utc))


# -- Reonic: page numbers over a list filtered by `updatedAt.gt` and sorted by creation --

REONIC_TICK = timedelta(milliseconds=1)  # Reonic's timestamps carry milliseconds
OFFER_PROJECTS_PER_PAGE = 10  # each project costs one more call (its signature requests)


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _text(moment: datetime) -> str:
    """As Reonic writes instants: UTC, milliseconds, `Z`."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def read_reonic(cursor: dict[str, Any], page_limit: int, list_page: Callable[..., Any],
                model: type[ReonicRecord]) -> Page:
    """One page of a run that reads everything changed after `since`.

    Reonic cannot sort contacts by `updatedAt` (only by creation), so a run keeps its filter and
    walks page numbers over a list in creation order: a record changed meanwhile keeps its place
    (creation does not change) instead of shifting the pages under us. `seen` is the latest
    change read; the next run starts a tick before it, so a record changed at that very instant
    after its page was read is read again (a duplicate there writes nothing).
    """
    since, number, seen = cursor.get("since"), int(cursor.get("page", 1)), _instant(cursor.get("seen"))
    batch = list_page(page=number, per_page=page_limit, updated_after=since)
    found = [model.model_validate(item.model_dump(by_alias=True)) for item in batch.data]
    seen = max([record.version for record in found] + ([seen] if seen else []), default=None)
    if len(found) < page_limit or number >= batch.pagination.total_pages:
        following = {"since": _text(seen - REONIC_TICK) if seen else since, "page": 1}
        return Page(found, following, True, total=batch.pagination.total)
    following = {"since": since, "page": number + 1, "seen": _text(seen) if seen else None}
    return Page(found, following, False, total=batch.pagination.total)


def read_reonic_contacts(client: Any, cursor: dict[str, Any], page_limit: int) -> Page:
    return read_reonic(cursor, page_limit, lambda **page: client.list_contacts(sort="createdAt", **page),
                       ReonicContact)


def _project_pages(client: Any) -> Callable[..., Any]:
    # Archived projects too: archiving changes a project, and it stays a deal that was won or lost.
    return lambda **page: client.list_projects(sort="projectCreatedAt", archived="include", **page)


def read_reonic_projects(client: Any, cursor: dict[str, Any], page_limit: int) -> Page:
    return read_reonic(cursor, page_limit, _project_pages(client), ResidentialProject)


def read_reonic_offers(client: Any, cursor: dict[str, Any], page_limit: int) -> Page:
    """The signature requests of the projects changed since the cursor (Reonic lists them per project only).

    Assumes a signature request's change touches its project's `updatedAt` (UNCONFIRMED); the
    offer webhooks are the first path, this the repair.
    """
    projects = read_reonic(cursor, min(page_limit, OFFER_PROJECTS_PER_PAGE), _project_pages(client),
                           ResidentialProject)
    offers = [SignatureRequest.model_validate(request.model_dump(by_alias=True))
              for project in projects.items for request in client.signature_requests(project.id)]
    return Page(offers, projects.cursor, projects.done)  # no total: it counts projects, not offers


def store_reonic(session: Session, tenant_id: int, record: ReonicRecord) -> None:
    """Through the ordering rule (services/records.py): a page read never overwrites a newer webhook's change."""
    crm.apply_reonic(session, tenant_id, record)


def _reonic(resource: str, read: Callable[[Any, dict[str, Any], int], Page]) -> Source:
    return Source("reonic", resource, "hookline.tasks.reonic_sync.reconcile", read, store_reonic)


SOURCES: dict[tuple[str, str], Source] = {
    ("ghl", "contacts"): Source("ghl", "contacts", "hookline.tasks.ghl_sync.reconcile", read_ghl_contacts,
                                store_ghl_contact),
    ("reonic", "contacts"): _reonic("contacts", read_reonic_contacts),
    ("reonic", "projects"): _reonic("projects", read_reonic_projects),
    ("reonic", "offers"): _reonic("offers", read_reonic_offers),
}


def source(provider: str, resource: str) -> Source:
    try:
        return SOURCES[(provider, resource)]
    except KeyError:
        known = ", ".join(f"{p}/{r}" for p, r in SOURCES)
        raise ValueError(f"no reconciliation for {provider}/{resource} (known: {known})") from None
