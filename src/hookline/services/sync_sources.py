"""What the reconciliation can read, one Source per provider and resource.

Adding a resource is one `read` function (a page from the API and the cursor after it), one
`store` function (the service upsert of an item) or `store_page` (of a page) and a SOURCES entry;
the task, the cursor table, beat and `hookline sync` need no change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy.orm import Session

from hookline.integrations.ghl import resources as ghl_resources
from hookline.integrations.reonic.records import ReonicContact, ReonicRecord, ResidentialProject, SignatureRequest
from hookline.models import Calendar
from hookline.services import crm, deals, records
from hookline.services.sync import Page


@dataclass(frozen=True)
class Source:
    provider: str
    resource: str
    task: str  # the task that reads it (its module is the provider's queue)
    read: Callable[[Any, dict[str, Any], int], Page]  # (client, cursor, page limit) → Page
    store: Callable[[Session, int, Any], None] | None  # (session, tenant id, one item)
    # (session, tenant id, the page's items): one statement for a page instead of one per item
    store_page: Callable[[Session, int, list[Any]], None] | None = None


def read_ghl_contacts(client: Any, cursor: dict[str, Any], page_limit: int) -> Page:
    """Keyset on dateUpdated: `since` is the last change seen, `page` only walks ties at it.

    Reading from `since` inclusive re-reads the contacts changed at exactly that instant (an
    upsert again, harmless), and a contact changed while we read moves to the end, so no page
    shifts under us the way plain page numbers over a changing list would.
    """
    since, number = cursor.get("since"), int(cursor.get("page", 1))
    batch = client.contacts_updated_since(since, page=number, page_limit=page_limit)
    found = batch.contacts
    last = _iso(found[-1].date_updated) if found else None
    if len(found) < page_limit:
        following, done = {"since": last or since, "page": 1}, True
    elif last == since:  # a full page of one instant: walk on through the tie
        following, done = {"since": since, "page": number + 1}, False
    else:
        following, done = {"since": last, "page": 1}, False
    return Page(found, following, done, total=batch.total)


def _iso(moment: datetime | None) -> str | None:
    """A time as GoHighLevel and Reonic write it (`2026-01-01T00:00:01.000Z`), for a filter's value."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def store_ghl_contacts(session: Session, tenant_id: int, contacts: list[Any]) -> None:
    """Through the same ordering rule as the webhooks (services/records.py): each contact's own
    dateUpdated is its version, so a page read never overwrites a newer webhook's change."""
    crm.apply_ghl_page(session, tenant_id, "contact", contacts, read_at=datetime.now(timezone.utc))


# -- opportunities and appointments: no "changed since" filter exists, so every run walks them all --


def read_ghl_opportunities(client: Any, cursor: dict[str, Any], page_limit: int) -> Page:
    """A walk of `GET /opportunities/search` by its documented cursor (`meta.startAfter` + `startAfterId`).

    The first page of a walk is the pipelines with their stages (one request; webhooks carry no
    names). The search has no "updated since" filter, so a finished walk starts over next run
    (cursor `{}`); the ordering rule makes re-reading an unchanged opportunity a no-op.
    """
    if not cursor.get("pipelines"):
        return Page(client.pipelines(), {"pipelines": True}, False)
    after = (cursor.get("start_after"), cursor.get("start_after_id"))
    page = client.search_opportunities(limit=page_limit, start_after=after[0], start_after_id=after[1])
    following = (page.meta.start_after, page.meta.start_after_id)
    if not page.opportunities or not following[1] or following == after:
        return Page(page.opportunities, {}, True, total=page.meta.total)
    return Page(page.opportunities, {"pipelines": True, "start_after": following[0], "start_after_id": following[1]},
                False, total=page.meta.total)


def store_ghl_opportunities(session: Session, tenant_id: int, items: list[Any]) -> None:
    """Deals by the webhooks' ordering rule (each one's `updatedAt` is its version), or pipelines with their stages."""
    now = datetime.now(timezone.utc)
    for pipeline in (item for item in items if isinstance(item, ghl_resources.Pipeline)):
        deals.apply_pipeline(session, tenant_id, "ghl", pipeline.id, pipeline.name,
                             [(stage.id, stage.name) for stage in pipeline.stages], version=now)
    found = [item for item in items if not isinstance(item, ghl_resources.Pipeline)]
    crm.apply_ghl_page(session, tenant_id, "deal", found, read_at=now)


APPOINTMENT_WINDOW = timedelta(days=30)  # one `GET /calendars/events` per calendar and window: it has no paging
APPOINTMENTS_BACK, APPOINTMENTS_AHEAD = timedelta(days=180), timedelta(days=365)


def read_ghl_appointments(client: Any, cursor: dict[str, Any], page_limit: int) -> Page:
    """Each calendar's events, window by window, from 180 days back to a year ahead of the walk's start.

    The first page of a walk is the calendar list (`GET /calendars/`), whose ids the cursor
    keeps; then one page per calendar and 30-day window (`GET /calendars/events` has no paging,
    so `page_limit` does not apply). A finished walk starts over next run (cursor `{}`).
    """
    if "calendars" not in cursor:
        calendars = client.calendars()
        if not calendars:
            return Page([], {}, True)
        now = datetime.now(timezone.utc)
        start, end = _ms(now - APPOINTMENTS_BACK), _ms(now + APPOINTMENTS_AHEAD)
        following: dict[str, Any] = {"calendars": [c.id for c in calendars], "index": 0, "from": start, "start": start, "end": end}
        return Page(calendars, following, False)
    ids, index, since, end = cursor["calendars"], int(cursor["index"]), int(cursor["from"]), int(cursor["end"])
    until = min(end, since + _ms(APPOINTMENT_WINDOW))
    events = client.calendar_events(ids[index], since, until)
    following = {**cursor, "from": until} if until < end else {**cursor, "index": index + 1, "from": cursor["start"]}
    if following["index"] >= len(ids):
        return Page(events, {}, True)
    return Page(events, following, False)


def _ms(moment: datetime | timedelta) -> int:
    seconds = moment.timestamp() if isinstance(moment, datetime) else moment.total_seconds()
    return int(seconds * 1000)


def store_ghl_appointments(session: Session, tenant_id: int, items: list[Any]) -> None:
    """Appointments by the webhooks' ordering rule (each one's `dateUpdated`), or calendars with their names."""
    now = datetime.now(timezone.utc)
    for calendar in (item for item in items if isinstance(item, ghl_resources.Calendar)):
        records.apply(session, tenant_id, Calendar, records.Change("ghl", calendar.id, now, {"name": calendar.name}))
    found = [item for item in items if not isinstance(item, ghl_resources.Calendar)]
    crm.apply_ghl_page(session, tenant_id, "appointment", found, read_at=now)


# -- Reonic: page numbers over a list filtered by `updatedAt.gt` and sorted by creation --

REONIC_TICK = timedelta(milliseconds=1)  # Reonic's timestamps carry milliseconds
OFFER_PROJECTS_PER_PAGE = 10  # each project costs one more call (its signature requests)


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


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
        following = {"since": _iso(seen - REONIC_TICK) if seen else since, "page": 1}
        return Page(found, following, True, total=batch.pagination.total)
    following = {"since": since, "page": number + 1, "seen": _iso(seen)}
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
                                None, store_ghl_contacts),
    ("ghl", "opportunities"): Source("ghl", "opportunities", "hookline.tasks.ghl_sync.reconcile",
                                     read_ghl_opportunities, None, store_ghl_opportunities),
    ("ghl", "appointments"): Source("ghl", "appointments", "hookline.tasks.ghl_sync.reconcile",
                                    read_ghl_appointments, None, store_ghl_appointments),
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
