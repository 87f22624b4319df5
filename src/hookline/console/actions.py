"""The console's actions: operators only, POST with the session's CSRF token, each written to the audit log."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hookline.console import audit, jobs, queries
from hookline.console.queries import BadFilter, EventFilter
from hookline.console.web import checked_form, operator
from hookline.db import tenant_session
from hookline.models import DeadLetterStatus
from hookline.services import dead_letters, replay, sync_sources
from hookline.services.tenants import tenant_connection

MAX_LETTERS = 1000  # one "all matching" dead-letter action at most; more: run it again


async def _acting(request: Request):  # noqa: ANN202
    """The operator and the form, CSRF checked first (a forged post learns nothing about roles)."""
    form = await checked_form(request)
    return operator(request), form


async def replay_event(request: Request) -> Response:
    who, _ = await _acting(request)
    slug, event_id = request.path_params["slug"], request.path_params["event_id"]

    def act() -> str:
        page = queries.event_page(slug, event_id)
        if page is None:
            raise HTTPException(404, f"no event {event_id} for {slug}")
        task = replay.reset_event(page.tenant.id, page.event)
        if task is None:
            raise HTTPException(409, f"no handler for {page.event.provider} {page.event.event_type}: nothing to replay")
        try:
            replay.publish_event(task, page.tenant.id, event_id)
            outcome = f"published to {task}"
        except replay.Unpublished:
            outcome = "pending; the relay will publish it"
        audit.record(who, "event.replay", filter={"tenant": slug, "event_id": event_id}, count=1, detail=outcome)
        return outcome

    try:
        await run_in_threadpool(act)
    except BadFilter as exc:
        raise HTTPException(404, str(exc)) from None
    return RedirectResponse(f"/events/{slug}/{event_id}", status_code=303)


async def dead_letters_act(request: Request) -> Response:
    """Replay or discard the dead letters ticked (`id` = "tenant-slug:id"), or all dead ones of a tenant filter."""
    who, form = await _acting(request)
    action = form.get("action")
    if action not in ("replay", "discard"):
        raise HTTPException(400, "action: replay or discard")
    picked = [str(value) for value in form.getlist("id")]
    everything = form.get("all") == "yes"
    slug = str(form.get("tenant") or "") or None
    if not picked and not everything:
        raise HTTPException(400, "tick at least one dead letter, or choose all matching")

    def act() -> tuple[int, list[str]]:
        targets = []
        if everything:
            for tenant in ([queries.tenant_by_slug(slug)] if slug else queries.tenants()):
                with tenant_session(tenant.id) as session:
                    targets += [(tenant, letter) for letter in dead_letters.recent(
                        session, tenant.id, status=DeadLetterStatus.DEAD.value, limit=MAX_LETTERS)]
        else:
            for value in picked[:MAX_LETTERS]:
                tenant_slug, _, letter_id = value.rpartition(":")
                if not letter_id.isdigit():
                    raise BadFilter(f"id: {value!r} is not tenant:id")
                tenant = queries.tenant_by_slug(tenant_slug)
                with tenant_session(tenant.id) as session:
                    letter = dead_letters.get(session, tenant.id, int(letter_id))
                if letter is None:
                    raise BadFilter(f"id: no dead letter {letter_id} for {tenant_slug}")
                targets.append((tenant, letter))
        done, problems = 0, []
        for tenant, letter in targets[:MAX_LETTERS]:
            try:
                (replay.replay_dead_letter if action == "replay" else replay.discard_dead_letter)(tenant.id, letter)
                done += 1
            except (replay.ReplayRefused, replay.Unpublished) as exc:
                problems.append(str(exc))
        audit.record(who, f"dead_letters.{action}", count=done,
                     filter={"tenant": slug, "all": True} if everything else {"ids": picked[:MAX_LETTERS]},
                     detail="; ".join(problems)[:2000] or None)
        return done, problems

    try:
        await run_in_threadpool(act)
    except BadFilter as exc:
        raise HTTPException(400, str(exc)) from None
    return RedirectResponse("/dead-letters" + (f"?tenant={slug}" if slug else ""), status_code=303)


async def start_replay(request: Request) -> Response:
    """A bulk replay of every event matching the form's filter, as a tracked job (console/jobs.py)."""
    who, form = await _acting(request)
    key = str(form.get("key") or "")
    if not 16 <= len(key) <= 64:
        raise HTTPException(400, "key: the form's one-time key is missing; reload the events page")
    try:
        where = EventFilter.parse(form)
        if not where.as_dict():
            raise BadFilter("filter: give at least one field; replaying every event is not a console action")
        if where.tenant:
            await run_in_threadpool(queries.tenant_by_slug, where.tenant)
    except BadFilter as exc:
        raise HTTPException(400, str(exc)) from None
    job, made = await run_in_threadpool(lambda: jobs.start(where, user=who.name, key=key))
    if made:
        await run_in_threadpool(lambda: audit.record(who, "events.bulk_replay", filter=where.as_dict(),
                                                     count=job.total, detail=f"job {job.id}"))
    return RedirectResponse(f"/replays/{job.id}", status_code=303)


async def cancel_replay(request: Request) -> Response:
    who, _ = await _acting(request)
    job_id = request.path_params["job_id"]
    if await run_in_threadpool(lambda: jobs.cancel(job_id, user=who.name)):
        job = await run_in_threadpool(jobs.get, job_id)
        if job is not None:  # it was there a moment ago, to be cancelled
            await run_in_threadpool(lambda: audit.record(who, "events.bulk_replay.cancel", filter=job.filter,
                                                         count=job.done, detail=f"job {job_id}"))
    return RedirectResponse(f"/replays/{job_id}", status_code=303)


async def start_sync(request: Request) -> Response:
    who, form = await _acting(request)
    slug = str(form.get("tenant") or "")
    provider, _, resource = str(form.get("source") or "").partition("/")
    full = form.get("full") == "yes"
    if (provider, resource) not in sync_sources.SOURCES:
        raise HTTPException(400, f"source: one of {', '.join('/'.join(pair) for pair in sorted(sync_sources.SOURCES))}")

    def act() -> str:
        from hookline.db import global_session
        from hookline.tasks.reconciling import start_sync as start  # the Celery app reads the broker URL on import

        tenant = queries.tenant_by_slug(slug)
        with global_session() as session:
            if tenant_connection(session, tenant.id, provider) is None:
                raise BadFilter(f"tenant: {slug} has no {provider} connection")
        outcome = start(tenant.id, provider, resource, full=full)
        audit.record(who, "sync.start", filter={"tenant": slug, "source": f"{provider}/{resource}", "full": full},
                     count=0 if outcome == "busy" else 1, detail=outcome)
        return outcome

    try:
        await run_in_threadpool(act)
    except BadFilter as exc:
        raise HTTPException(400, str(exc)) from None
    return RedirectResponse("/syncs", status_code=303)


routes = [
    Route("/events/{slug}/{event_id:int}/replay", replay_event, methods=["POST"]),
    Route("/dead-letters", dead_letters_act, methods=["POST"]),
    Route("/replays", start_replay, methods=["POST"]),
    Route("/replays/{job_id:int}/cancel", cancel_replay, methods=["POST"]),
    Route("/syncs", start_sync, methods=["POST"]),
]
