"""CRM events into Hookline's tables: which record an event changes, and how (services/records.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hookline.integrations.ghl import schemas as ghl
from hookline.integrations.reonic.records import ReonicRecord
from hookline.models import Contact, CrmTask, Note, ResidentialOffer, ResidentialProject
from hookline.models.base import SyncedRecord
from hookline.services import appointments, deals, records

Applier = Callable[[Session, int, records.Change], int | None]


def _rows_of(model: type[SyncedRecord]) -> Applier:
    """records.apply for a record that points at no other synced row."""
    def apply(session: Session, tenant_id: int, change: records.Change) -> int | None:
        return records.apply(session, tenant_id, model, change)
    return apply


# Record kind (integrations' EventKind.record) → how to apply a change to it.
APPLIERS: dict[str, Applier] = {
    "contact": _rows_of(Contact),
    "deal": deals.apply,
    "appointment": appointments.apply,
    "note": _rows_of(Note),
    "task": _rows_of(CrmTask),
    "project": _rows_of(ResidentialProject),
    "offer": _rows_of(ResidentialOffer),
}


class NotHandled(ValueError):
    """An event type no handler applies (it was handled when it was stored, or stored by hand)."""


@dataclass(frozen=True)
class Outcome:
    record: str  # a key of APPLIERS
    external_id: str
    row_id: int | None  # None: dropped as older than the row, or a duplicate
    version: datetime


def ghl_change(event_type: str, payload: dict[str, Any], *, received_at: datetime) -> tuple[str, records.Change]:
    """The record kind and the change a GoHighLevel event makes.

    The version is the event's own (`dateUpdated`, else the signed `timestamp`); a body with
    neither is placed by when Hookline received it. Raises NotHandled for a type with no handler
    and pydantic.ValidationError for a body that does not parse.
    """
    kind = ghl.EVENTS.get(event_type)
    if kind is None:
        raise NotHandled(f"no handler for ghl {event_type}")
    event = kind.schema.model_validate(payload)
    change = records.Change(provider="ghl", external_id=event.external_id, version=event.version or received_at,
                            values={**event.values(), **kind.sets}, fields=kind.fields, delete=kind.delete)
    return kind.record, change


def apply_ghl(session: Session, tenant_id: int, event_type: str, payload: dict[str, Any], *,
              received_at: datetime) -> Outcome:
    """Apply one GoHighLevel event; safe to run twice and in any order (see services/records.py)."""
    record, change = ghl_change(event_type, payload, received_at=received_at)
    return _apply(session, tenant_id, record, change)


# Record kind → how to apply a page of full records in one statement (a reconciliation page).
PAGE_APPLIERS: dict[str, Callable[[Session, int, list[records.Change]], int]] = {
    "contact": lambda session, tenant_id, changes: records.apply_many(session, tenant_id, Contact, changes),
    "deal": deals.apply_many,
    "appointment": appointments.apply_many,
}


def apply_ghl_page(session: Session, tenant_id: int, record: str, items: list[ghl.Record], *,
                   read_at: datetime) -> int:
    """Apply records as GoHighLevel's API returned them (a reconciliation page) by the webhooks' rule.

    All their fields, each with its own `dateUpdated` as the version (else when it was read): a
    page never overwrites a newer webhook's change, and a newer page wins over an older webhook.
    Returns how many rows it wrote.
    """
    changes = [records.Change(provider="ghl", external_id=item.id, version=item.date_updated or read_at,
                              values=item.values()) for item in items]
    return PAGE_APPLIERS[record](session, tenant_id, changes)


def apply_ghl_many(session: Session, tenant_id: int, changes: list[tuple[str, records.Change]]) -> int:
    """Apply many GoHighLevel changes (`ghl_change`'s) under the ordering rule; the rows written.

    Full records of one kind and one shape go in one statement (`PAGE_APPLIERS`, a record twice
    keeps its newest change); partial changes and deletes one by one. The rule compares versions,
    not arrival order, so applying the groups in any order ends where applying each event would.
    """
    pages: dict[tuple[str, tuple[str, ...]], list[records.Change]] = {}
    written = 0
    for record, change in changes:
        if record in PAGE_APPLIERS and change.fields is None and not change.delete:
            pages.setdefault((record, tuple(sorted(change.values))), []).append(change)
        elif APPLIERS[record](session, tenant_id, change) is not None:
            written += 1
    for (record, _), page in pages.items():
        written += PAGE_APPLIERS[record](session, tenant_id, page)
    return written


def apply_reonic(session: Session, tenant_id: int, record: ReonicRecord) -> Outcome:
    """Apply a Reonic object as its API returned it (Reonic webhooks carry ids only).

    Its version is its own `updatedAt` (integrations/reonic/records.py); a `deletedAt` makes it a delete.
    """
    deleted_at = record.deleted_at
    change = records.Change(provider="reonic", external_id=record.id, version=deleted_at or record.version,
                            values=record.values(), delete=deleted_at is not None)
    return _apply(session, tenant_id, record.RECORD, change)


def apply_reonic_gone(session: Session, tenant_id: int, record: str, external_id: str, *, at: datetime) -> Outcome:
    """A Reonic object its API answers 404 for: a delete, versioned `at` (when it was found gone).

    Every state it had is older than that, so the tombstone outranks any late read or event of
    it, and a create that was never stored leaves no ghost.
    """
    change = records.Change(provider="reonic", external_id=external_id, version=at, values={}, delete=True)
    return _apply(session, tenant_id, record, change)


def _apply(session: Session, tenant_id: int, record: str, change: records.Change) -> Outcome:
    return Outcome(record, change.external_id, APPLIERS[record](session, tenant_id, change), change.version)
