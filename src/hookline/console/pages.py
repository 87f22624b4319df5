"""The console's read pages: tenants, events, an event, dead letters, replay jobs, syncs, queues, audit."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hookline.console import audit, jobs, queries
from hookline.console.queries import BadFilter, EventFilter
from hookline.console.web import render
from hookline.db import tenant_session
from hookline.models import DeadLetterStatus, EventStatus
from hookline.services import dead_letters, sync_sources
from hookline.services import sync as sync_service

SORTS = {"trouble": None, "slug": "slug", "connection": "connection", "oldest_pending": "oldest_pending",
         "failures": "failures_last_hour", "dead_letters": "dead_letters", "last_sync": "last_sync",
         "rate": "webhooks_per_minute"}


async def tenants_page(request: Request) -> Response:
    sort = request.query_params.get("sort", "trouble")
    if sort not in SORTS:
        raise HTTPException(400, f"sort: one of {', '.join(SORTS)}")
    rows = await run_in_threadpool(queries.tenant_rows)
    if SORTS[sort] == "slug":
        rows.sort(key=lambda row: row.slug)
    elif SORTS[sort] == "oldest_pending":  # the oldest first, tenants with nothing pending last
        rows.sort(key=lambda row: (row.oldest_pending is None, row.oldest_pending or datetime.max.replace(tzinfo=timezone.utc)))
    elif field := SORTS[sort]:
        rows.sort(key=lambda row: (getattr(row, field) is not None, getattr(row, field) or 0), reverse=True)
    return render(request, "tenants.html", rows=rows, sort=sort)


def _filter(request: Request) -> EventFilter:
    try:
        return EventFilter.parse(request.query_params)
    except BadFilter as exc:
        raise HTTPException(400, str(exc)) from None


async def events_page(request: Request) -> Response:
    where = _filter(request)
    searched = bool(where.as_dict())
    try:
        found = await run_in_threadpool(queries.search_events, where) if searched else []
    except BadFilter as exc:
        raise HTTPException(400, str(exc)) from None
    return render(request, "events.html", where=where, found=found, searched=searched,
                  statuses=[status.value for status in EventStatus], limit=queries.SEARCH_LIMIT,
                  job_key=secrets.token_urlsafe(16))


async def event_page(request: Request) -> Response:
    try:
        page = await run_in_threadpool(queries.event_page, request.path_params["slug"], request.path_params["event_id"])
    except BadFilter as exc:
        raise HTTPException(404, str(exc)) from None
    if page is None:
        raise HTTPException(404, f"no event {request.path_params['event_id']} for {request.path_params['slug']}")
    return render(request, "event.html", page=page)


async def dead_letters_page(request: Request) -> Response:
    status = request.query_params.get("status") or DeadLetterStatus.DEAD.value
    slug = request.query_params.get("tenant") or None
    if status not in {status.value for status in DeadLetterStatus}:
        raise HTTPException(400, "status: one of dead, replayed, discarded")

    def read() -> list:
        rows = []
        for tenant in ([queries.tenant_by_slug(slug)] if slug else queries.tenants()):
            with tenant_session(tenant.id) as session:
                rows += [(tenant, letter) for letter in dead_letters.recent(session, tenant.id, status=status, limit=200)]
        return sorted(rows, key=lambda pair: pair[1].last_failed_at, reverse=True)[:200]

    try:
        rows = await run_in_threadpool(read)
    except BadFilter as exc:
        raise HTTPException(400, str(exc)) from None
    return render(request, "dead_letters.html", rows=rows, status=status, tenant=slug,
                  statuses=[status.value for status in DeadLetterStatus])


async def replays_page(request: Request) -> Response:
    return render(request, "replays.html", jobs=await run_in_threadpool(jobs.recent))


async def replay_page(request: Request) -> Response:
    job = await run_in_threadpool(jobs.get, request.path_params["job_id"])
    if job is None:
        raise HTTPException(404, f"no replay job {request.path_params['job_id']}")
    return render(request, "replay.html", job=job)


async def syncs_page(request: Request) -> Response:
    def read() -> list:
        rows = []
        for tenant in queries.tenants():
            with tenant_session(tenant.id) as session:
                rows += [(tenant, row) for row in sync_service.listing(session, tenant.id)]
        return sorted(rows, key=lambda pair: (pair[1].state != "running", pair[0].slug))

    return render(request, "syncs.html", rows=await run_in_threadpool(read), tenants=await run_in_threadpool(queries.tenants),
                  sources=sorted(sync_sources.SOURCES))


async def queues_page(request: Request) -> Response:
    from hookline.console.ops import queue_overview

    return render(request, "queues.html", **await run_in_threadpool(queue_overview, request.app.state.settings))


async def audit_page(request: Request) -> Response:
    return render(request, "audit.html", entries=await run_in_threadpool(audit.recent))


routes = [
    Route("/tenants", tenants_page), Route("/events", events_page),
    Route("/events/{slug}/{event_id:int}", event_page), Route("/dead-letters", dead_letters_page),
    Route("/replays", replays_page), Route("/replays/{job_id:int}", replay_page), Route("/syncs", syncs_page),
    Route("/queues", queues_page), Route("/audit", audit_page),
]
