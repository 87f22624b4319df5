"""The reconciliation's task bodies, shared by each provider's queue (tasks/ghl_sync.py, tasks/reonic_sync.py).

A provider's `reconcile` task calls `reconcile_with` with its Source and client; `start_sync`
opens (or resumes) a run and queues its first task; `start_all` is what beat's `reconcile_all` does.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from hookline.config import get_settings
from hookline.db import global_session, tenant_session
from hookline.integrations.errors import Permanent
from hookline.models import Connection
from hookline.services import api_clients, sync, sync_sources
from hookline.transport.publish import publish_after_commit
from hookline.workers.retry import api_retries
from hookline.workers.tenancy import TenantTask

log = structlog.get_logger(__name__)


def run_pages(tenant_id: int, src: sync_sources.Source, client: object, max_pages: int, page_limit: int) -> bool:
    """Read up to `max_pages` pages; each page's upserts and its cursor commit together.

    True when there are more pages to read. False when caught up, or when the row is not
    ours to read (another task holds its lock, or it is no longer `running`).

    The next page is read while this one is stored (one request ahead, from the cursor this
    page will commit): a backfill's pace is then the slower of the API and the database, not
    their sum. A read ahead that is not used (the row changed hands, an error) is dropped.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-read-ahead") as reader:
        ahead: tuple[dict, Future] | None = None
        for number in range(max_pages):
            with tenant_session(tenant_id) as session:
                row = sync.find(session, tenant_id, src.provider, src.resource, lock=True)
                if row is None or row.state != sync.RUNNING:
                    return False
                if ahead is not None and ahead[0] == row.cursor:
                    page = ahead[1].result()
                else:
                    page = src.read(client, row.cursor, page_limit)
                more = not page.done and number + 1 < max_pages
                ahead = (page.cursor, reader.submit(src.read, client, page.cursor, page_limit)) if more else None
                _store(session, tenant_id, src, page.items)
                sync.advance(row, page)
            log.info("sync.page", provider=src.provider, resource=src.resource, rows=len(page.items), done=page.done)
            if page.done:
                return False
    return True


def _store(session: Session, tenant_id: int, src: sync_sources.Source, items: list) -> None:
    if src.store_page is not None:
        src.store_page(session, tenant_id, items)
        return
    for item in items:
        src.store(session, tenant_id, item)  # type: ignore[misc]  # a Source has one or the other


def reconcile_with(task: TenantTask, tenant_id: int, src: sync_sources.Source, make_client) -> None:  # noqa: ANN001
    """The body of a provider's reconcile task: a bounded run, then itself again for the next pages."""
    settings = get_settings()
    try:
        with api_retries(task):  # a retry starts from the cursor of the last committed page
            more = run_pages(tenant_id, src, make_client(tenant_id), settings.sync_pages_per_task,
                             settings.sync_page_limit)
    except Permanent as exc:  # AuthExpired, NotFound, refused: an operator must act; no retry
        with tenant_session(tenant_id) as session:
            sync.fail(session, tenant_id, src.provider, src.resource, f"{type(exc).__name__}: {exc}")
        log.error("sync.failed", provider=src.provider, resource=src.resource, error=type(exc).__name__)
        return
    if more:
        task.apply_async(kwargs={"tenant_id": tenant_id, "resource": src.resource})


def start_sync(tenant_id: int, provider: str, resource: str, *, full: bool = False,
               stale_after: float | None = None) -> str:
    """Start (or resume a stalled) run and publish its first task after commit; `busy`: left alone;
    `disconnected`: the connection was uninstalled, so no run (api_clients.live_connection)."""
    return start_syncs(tenant_id, provider, [resource], full=full, stale_after=stale_after)[resource]


def start_syncs(tenant_id: int, provider: str, resources: list[str], *, full: bool = False,
                stale_after: float | None = None) -> dict[str, str]:
    """`start_sync` of several resources of one tenant, in one transaction: resource → outcome."""
    sources = [sync_sources.source(provider, resource) for resource in resources]
    stale = get_settings().sync_stale_seconds if stale_after is None else stale_after
    with global_session() as session:
        try:
            api_clients.live_connection(session, tenant_id, provider)
        except api_clients.Disconnected:
            return dict.fromkeys(resources, "disconnected")
    outcomes = {}
    with tenant_session(tenant_id) as session:
        for src in sources:
            outcomes[src.resource] = sync.start(session, tenant_id, provider, src.resource, full=full,
                                                stale_after=stale)
            if outcomes[src.resource] != "busy":
                publish_after_commit(session, src.task, tenant_id=tenant_id, resource=src.resource)
    return outcomes


def resources_of(provider: str) -> list[str]:
    return [resource for source_provider, resource in sync_sources.SOURCES if source_provider == provider]


def start_backfill(tenant_id: int, provider: str) -> dict[str, str]:
    """A new connection's first full read of each of `provider`'s resources (contacts, opportunities, …)."""
    return start_syncs(tenant_id, provider, resources_of(provider), full=True)


def start_all(provider: str, *, stale_after: float | None = None) -> int:
    """An incremental run of each of `provider`'s resources for every tenant connected to it; the count started."""
    with global_session() as session:
        tenant_ids = session.scalars(select(Connection.tenant_id).where(Connection.provider == provider)
                                     .distinct().order_by(Connection.tenant_id)).all()
    started = 0
    for tenant_id in tenant_ids:
        outcomes = start_syncs(tenant_id, provider, resources_of(provider), stale_after=stale_after)
        started += sum(outcome in ("started", "resumed") for outcome in outcomes.values())
    log.info("sync.reconcile_all", provider=provider, tenants=len(tenant_ids), started=started)
    return started
