"""What the reconciliation can read, one Source per provider and resource.

Adding a resource (opportunities, appointments, …) is one `read` function (a page from the
API and the cursor after it), one `store` function (the service upsert) and a SOURCES entry;
the task, the cursor table, beat and `hookline sync` need no change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session

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


SOURCES: dict[tuple[str, str], Source] = {
    ("ghl", "contacts"): Source("ghl", "contacts", "hookline.tasks.ghl_sync.reconcile", read_ghl_contacts,
                                store_ghl_contact),
}


def source(provider: str, resource: str) -> Source:
    try:
        return SOURCES[(provider, resource)]
    except KeyError:
        known = ", ".join(f"{p}/{r}" for p, r in SOURCES)
        raise ValueError(f"no reconciliation for {provider}/{resource} (known: {known})") from None
