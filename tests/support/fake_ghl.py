"""A fake GoHighLevel API v2 on loopback: keeps state, paginates, issues and rotates OAuth tokens,
and answers 429 + Retry-After past its per-location limit while counting every request it accepts.

Run with `serve(FakeGHL(...).app())` (uvicorn in a thread, port 0). Checks what the real API
checks that our clients could get wrong: the bearer token, the `Version` header per area, the
required search fields.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support.processes import wait_for

CRM, CALENDARS = "2021-07-28", "2021-04-15"
RECORDING = b"RIFF" + bytes(range(256)) * 400  # 100 KiB of "audio/x-wav"


class FakeGHL:
    def __init__(self, *, client_id: str = "app-1", client_secret: str = "app-secret", limit: int = 100,
                 window: float = 10.0, daily_limit: int = 200_000, token_ttl: int = 86_399,
                 refresh_delay: float = 0.0, search_delay: float = 0.0, arrival_delay: float = 0.0) -> None:
        # search_delay: seconds each contact or opportunity search and calendar read takes
        # arrival_delay: each API request reaches the counter up to this many seconds after it was sent
        # (random, as a network's delay varies): the limit counts arrivals, as GoHighLevel's does
        self.client_id, self.client_secret = client_id, client_secret
        self.limit, self.window, self.daily_limit = limit, window, daily_limit
        self.token_ttl, self.refresh_delay, self.search_delay = token_ttl, refresh_delay, search_delay
        self.arrival_delay = arrival_delay
        self.searches: list[dict[str, Any]] = []  # every contact search body, with the ids it returned
        self.clock = itertools.count(1)  # dateUpdated: strictly increasing, one second per change
        self.lock = threading.Lock()
        self.contacts: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self.opportunities: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self.pipelines: dict[str, list[dict[str, Any]]] = defaultdict(
            lambda: [{"id": "p1", "name": "Sales", "stages": [{"id": "s1", "name": "New"}, {"id": "s2", "name": "Won"}]}])
        self.calendars: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.events: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)  # location → event id → event
        self.reads: list[tuple[str, dict[str, str]]] = []  # (path, query) of every opportunity and calendar read
        self.access: dict[str, tuple[str, float]] = {}  # token → (location, expires at)
        self.refresh: dict[str, str] = {}  # live refresh token → location
        self.used_refresh: set[str] = set()
        self.accepted: dict[str, list[float]] = defaultdict(list)  # location → arrival times (monotonic)
        self.refused_429: dict[str, int] = defaultdict(int)
        self.refreshes = 0  # refresh_token grants that reached the server
        self.codes: dict[str, str] = {}  # authorization code → location or company (one use each)
        self.code_types: dict[str, str] = {}  # authorization code → "Company" (else a Location code)
        self.companies: set[str] = set()  # resources whose tokens are Company (agency) tokens
        self.agencies: dict[str, list[str]] = defaultdict(list)  # company → locations the app is installed on
        self.locations: dict[str, dict[str, Any]] = {}  # location → {"name", "timezone", "companyId"}
        self.minted: dict[str, int] = defaultdict(int)  # location → tokens minted from its Company token
        self.log: list[tuple[float, str, str]] = []  # (time.time(), resource named, path) of every accepted request
        self.ids = itertools.count(1)
        self.tag_calls: list[tuple[str, str, list[str]]] = []  # (POST | DELETE, contact id, tags) of each tag call

    # -- helpers for tests --

    def issue(self, location: str, *, expires_in: float | None = None) -> tuple[str, str]:
        """A fresh (access, refresh) pair for `location`, as an install would give."""
        access, refresh = f"at-{secrets.token_hex(8)}", f"rt-{secrets.token_hex(8)}"
        with self.lock:
            self.access[access] = (location, time.time() + (self.token_ttl if expires_in is None else expires_in))
            self.refresh[refresh] = location
        return access, refresh

    def issue_code(self, resource: str, user_type: str = "Location") -> str:
        """An authorization code, as the Marketplace's redirect carries it (for a location or a company)."""
        code = f"code-{secrets.token_hex(8)}"
        with self.lock:
            self.codes[code] = resource
            self.code_types[code] = user_type
            if user_type == "Company":
                self.companies.add(resource)
        return code

    def install_agency(self, company: str, count: int, *, prefix: str = "agency-loc") -> list[str]:
        """An agency with the app installed on `count` locations (named, with time zones)."""
        zones = ("America/Chicago", "Europe/Berlin", "Australia/Sydney")
        with self.lock:
            self.companies.add(company)
            for number in range(len(self.agencies[company]), len(self.agencies[company]) + count):
                location = f"{prefix}-{number:03d}"
                self.agencies[company].append(location)
                self.locations[location] = {"name": f"Branch {number:03d}", "timezone": zones[number % 3],
                                            "companyId": company}
        return self.agencies[company][-count:]

    def named(self, location: str, since: float = 0.0) -> list[str]:
        """Paths of the requests accepted since `since` (time.time()) that named `location`."""
        with self.lock:
            return [path for at, resource, path in self.log
                    if at >= since and (resource == location or location in path)]

    def revoke(self, refresh_token: str) -> None:
        with self.lock:
            self.refresh.pop(refresh_token, None)

    def max_in_window(self, location: str, window: float | None = None) -> int:
        """The most requests accepted for `location` in any `window` seconds (sliding)."""
        window = self.window if window is None else window
        times = sorted(self.accepted[location])
        best, start = 0, 0
        for end, arrived in enumerate(times):
            while arrived - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def add_contacts(self, location: str, count: int) -> None:
        with self.lock:
            for _ in range(count):
                number = next(self.ids)
                self.contacts[location][f"c{number}"] = {"id": f"c{number}", "locationId": location,
                                                         "email": f"person{number}@example.com",
                                                         "firstName": f"Person{number}",
                                                         "dateUpdated": self._stamp()}

    def _stamp(self) -> str:
        """The next `dateUpdated`, as GoHighLevel writes it (ISO 8601, milliseconds, Z)."""
        moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=next(self.clock))
        return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def touch(self, location: str, contact_ids: list[str]) -> None:
        """Change these contacts in the CRM (a new name and dateUpdated), as a user would."""
        with self.lock:
            for contact_id in contact_ids:
                contact = self.contacts[location][contact_id]
                contact["lastName"] = f"Changed{next(self.clock)}"
                contact["dateUpdated"] = self._stamp()

    def add_opportunities(self, location: str, count: int) -> None:
        """Opportunities as `GET /opportunities/search` returns them (createdAt / updatedAt in ISO 8601)."""
        with self.lock:
            for _ in range(count):
                number, stamp = next(self.ids), self._stamp()
                self.opportunities[location][f"o{number}"] = {
                    "id": f"o{number}", "name": f"Deal {number}", "status": "open", "pipelineId": "p1",
                    "pipelineStageId": "s1", "contactId": "c1", "locationId": location, "monetaryValue": number,
                    "createdAt": stamp, "updatedAt": stamp}

    def change_opportunity(self, location: str, opportunity_id: str, **fields: Any) -> None:
        with self.lock:
            self.opportunities[location][opportunity_id].update(fields, updatedAt=self._stamp())

    def add_calendar(self, location: str, calendar_id: str, name: str) -> None:
        with self.lock:
            self.calendars[location].append({"id": calendar_id, "name": name, "locationId": location})

    def add_appointment(self, location: str, calendar_id: str, start: datetime, **fields: Any) -> str:
        """An event of `calendar_id` starting at `start` (an hour long); returns its id."""
        with self.lock:
            number, stamp = next(self.ids), self._stamp()
            event = {"id": f"e{number}", "calendarId": calendar_id, "locationId": location, "contactId": "c1",
                     "title": f"Visit {number}", "appointmentStatus": "confirmed", "assignedUserId": "u1",
                     "users": [], "startTime": start.isoformat(), "endTime": (start + timedelta(hours=1)).isoformat(),
                     "dateAdded": stamp, "dateUpdated": stamp, **fields}
            self.events[location][event["id"]] = event
        return event["id"]

    # -- the app --

    def app(self) -> Starlette:
        api = [
            ("/contacts/upsert", self.upsert_contact, ["POST"], CRM),
            ("/contacts/search", self.search_contacts, ["POST"], CRM),
            ("/contacts/{contact_id}", self.get_contact, ["GET"], CRM),
            ("/contacts/{contact_id}/notes", self.notes, ["GET", "POST"], CRM),
            ("/contacts/{contact_id}/tags", self.tags, ["POST", "DELETE"], CRM),
            ("/opportunities/pipelines", self.list_pipelines, ["GET"], CRM),
            ("/opportunities/search", self.search_opportunities, ["GET"], CRM),
            ("/calendars/", self.list_calendars, ["GET"], CALENDARS),
            ("/calendars/events", self.calendar_events, ["GET"], CALENDARS),
            ("/opportunities/", self.create_opportunity, ["POST"], CRM),
            ("/opportunities/{opp_id}", self.opportunity, ["GET", "PUT"], CRM),
            ("/opportunities/{opp_id}/status", self.opportunity_status, ["PUT"], CRM),
            ("/conversations/messages/{message_id}/locations/{location}/recording", self.recording, ["GET"], CALENDARS),
        ]
        api.append(("/locations/{location_id}", self.get_location, ["GET"], CRM))
        agency = [("/oauth/locationToken", self.location_token, ["POST"], CRM),
                  ("/oauth/installedLocations", self.installed_locations, ["GET"], CRM)]
        routes = [Route("/oauth/token", self.token, methods=["POST"])]
        routes += [Route(path, self._guarded(handler, version), methods=methods) for path, handler, methods, version in api]
        routes += [Route(path, self._guarded(handler, version, company=True), methods=methods)
                   for path, handler, methods, version in agency]
        return Starlette(routes=routes)

    def _guarded(self, handler, version: str, *, company: bool = False):
        async def endpoint(request: Request) -> Response:
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            with self.lock:
                location, expires = self.access.get(token, ("", 0.0))
            if not location or expires < time.time():
                return JSONResponse({"statusCode": 401, "message": "Invalid JWT"}, status_code=401)
            if (location in self.companies) != company:  # GoHighLevel's authClass check
                return JSONResponse({"statusCode": 401, "message": "The token is not authorized for this scope "
                                     f"(authClass {'Company' if location in self.companies else 'Location'})"}, 401)
            if request.headers.get("version") != version:
                return JSONResponse({"statusCode": 400, "message": f"Version header must be {version}"}, 400)
            if self.arrival_delay:
                await asyncio.sleep(random.uniform(0, self.arrival_delay))
            limited = self._count(location)
            if limited is not None:
                return limited
            with self.lock:
                self.log.append((time.time(), location, request.url.path))
            response = await handler(request, location)
            response.headers.update(self._limit_headers(location))
            return response
        return endpoint

    def _count(self, location: str) -> Response | None:
        with self.lock:
            now = time.monotonic()
            recent = [t for t in self.accepted[location] if now - t < self.window]
            if len(recent) >= self.limit:
                self.refused_429[location] += 1
                wait = max(1, math.ceil(recent[0] + self.window - now))
                return JSONResponse({"statusCode": 429, "message": "Too many requests"}, 429,
                                    headers={"Retry-After": str(wait), **self._limit_headers(location, now)})
            self.accepted[location].append(now)
        return None

    def _limit_headers(self, location: str, now: float | None = None) -> dict[str, str]:
        now = time.monotonic() if now is None else now
        used = sum(1 for t in self.accepted[location] if now - t < self.window)
        return {"X-RateLimit-Max": str(self.limit), "X-RateLimit-Remaining": str(max(0, self.limit - used)),
                "X-RateLimit-Interval-Milliseconds": str(int(self.window * 1000)),
                "X-RateLimit-Limit-Daily": str(self.daily_limit),
                "X-RateLimit-Daily-Remaining": str(self.daily_limit - len(self.accepted[location]))}

    async def token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))  # x-www-form-urlencoded
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return JSONResponse({"error": "invalid_client"}, 401)
        if form.get("grant_type") not in ("refresh_token", "authorization_code"):
            return JSONResponse({"error": "unsupported_grant_type"}, 400)
        given = str(form.get("refresh_token") or form.get("code") or "")
        if form.get("user_type") not in ("Location", "Company"):
            return JSONResponse({"error": "invalid_request", "error_description": "user_type is required"}, 400)
        with self.lock:
            if form["grant_type"] == "authorization_code":
                location = self.codes.pop(given, None)
                self.code_types.pop(given, None)
            else:
                self.refreshes += 1
                location = self.refresh.pop(given, None)  # rotation: a refresh token works once
            if location is None:
                return JSONResponse({"error": "invalid_grant", "error_description": "Invalid grant: refresh token is invalid"}, 400)
            self.used_refresh.add(given)
        await asyncio.sleep(self.refresh_delay)  # widens the window in which a racing refresher would show
        access, refresh = self.issue(location)
        with self.lock:
            self.log.append((time.time(), location, "/oauth/token"))
        body = {"access_token": access, "token_type": "Bearer", "expires_in": self.token_ttl, "refresh_token": refresh,
                "scope": "contacts.readonly", "userId": "u-installer"}
        if location in self.companies:  # whatever user_type asked for: the code decides (our caller must check)
            return JSONResponse({**body, "userType": "Company", "companyId": location, "isBulkInstallation": True})
        return JSONResponse({**body, "userType": "Location", "locationId": location,
                             "companyId": self.locations.get(location, {}).get("companyId", "company-1")})

    # -- agency (Company token) and locations --

    async def location_token(self, request: Request, company: str) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))  # x-www-form-urlencoded
        location = form.get("locationId", "")
        if form.get("companyId") != company or location not in self.agencies[company]:
            return JSONResponse({"statusCode": 400, "message": "the app is not installed on this location"}, 400)
        access, _ = self.issue(location)
        with self.lock:
            self.minted[location] += 1
            self.log.append((time.time(), location, "/oauth/locationToken"))
        return JSONResponse({"access_token": access, "token_type": "Bearer", "expires_in": self.token_ttl,
                             "scope": "contacts.readonly", "locationId": location, "userId": "u-installer"})

    async def installed_locations(self, request: Request, company: str) -> Response:
        query = request.query_params
        if query.get("companyId") != company or not query.get("appId"):
            return JSONResponse({"statusCode": 422, "message": ["companyId and appId are required"]}, 422)
        skip, limit = int(query.get("skip", 0)), int(query.get("limit", 20))
        page = self.agencies[company][skip: skip + limit]
        return JSONResponse({"locations": [{"_id": location, "name": self.locations[location]["name"],
                                            "address": "1 Main St", "isInstalled": True} for location in page],
                             "count": len(self.agencies[company])})

    async def get_location(self, request: Request, location: str) -> Response:
        if request.path_params["location_id"] != location:
            return JSONResponse({"statusCode": 403, "message": "The token does not have access to this location"}, 403)
        info = self.locations.get(location, {"name": f"Location {location}", "timezone": "UTC", "companyId": "c-1"})
        return JSONResponse({"location": {"id": location, **info}})

    # -- contacts --

    async def get_contact(self, request: Request, location: str) -> Response:
        contact = self.contacts[location].get(request.path_params["contact_id"])
        if contact is None:
            return JSONResponse({"statusCode": 404, "message": "Contact not found"}, 404)
        return JSONResponse({"contact": contact})

    async def upsert_contact(self, request: Request, location: str) -> Response:
        body = await request.json()
        if body.get("locationId") != location:
            return JSONResponse({"statusCode": 422, "message": ["locationId must match the token"]}, 422)
        with self.lock:
            found = next((c for c in self.contacts[location].values()
                          if body.get("email") and c.get("email") == body["email"]), None)
            contact = found or {"id": f"c{next(self.ids)}", "locationId": location}
            contact.update({key: value for key, value in body.items() if key != "locationId"})
            contact["dateUpdated"] = self._stamp()
            self.contacts[location][contact["id"]] = contact
        return JSONResponse({"new": found is None, "contact": contact, "traceId": "t"})

    async def search_contacts(self, request: Request, location: str) -> Response:
        body = await request.json()
        if body.get("locationId") != location or not body.get("pageLimit"):
            return JSONResponse({"statusCode": 422, "message": ["locationId and pageLimit are required"]}, 422)
        limit, page = int(body["pageLimit"]), int(body.get("page", 1))
        await asyncio.sleep(self.search_delay)
        with self.lock:
            contacts = list(self.contacts[location].values())
        for rule in body.get("filters", []):  # the one filter the reconciliation uses
            if rule.get("field") == "dateUpdated" and rule.get("operator") == "range":
                contacts = [c for c in contacts if c.get("dateUpdated", "") >= rule["value"]["gte"]]
        if body.get("sort") == [{"field": "dateUpdated", "direction": "asc"}]:
            contacts.sort(key=lambda c: (c.get("dateUpdated", ""), int(c["id"][1:])))
        else:
            contacts.sort(key=lambda c: int(c["id"][1:]))
        found = contacts[(page - 1) * limit: page * limit]
        self.searches.append({**body, "returned": [c["id"] for c in found]})
        return JSONResponse({"contacts": found, "total": len(contacts)})

    async def notes(self, request: Request, location: str) -> Response:
        contact = self.contacts[location].get(request.path_params["contact_id"])
        if contact is None:
            return JSONResponse({"statusCode": 404}, 404)
        if request.method == "GET":
            return JSONResponse({"notes": contact.get("_notes", [])})
        note = {"id": f"n{next(self.ids)}", "body": (await request.json())["body"], "contactId": contact["id"]}
        contact.setdefault("_notes", []).append(note)
        return JSONResponse({"note": note}, 201)

    async def tags(self, request: Request, location: str) -> Response:
        """POST adds the body's `tags` (a tag already there stays one), DELETE removes them; each is counted."""
        contact = self.contacts[location].get(request.path_params["contact_id"])
        if contact is None:
            return JSONResponse({"statusCode": 404, "message": "Contact not found"}, 404)
        given = (await request.json()).get("tags")
        if not isinstance(given, list) or not all(isinstance(tag, str) for tag in given):
            return JSONResponse({"statusCode": 422, "message": ["tags must be an array of strings"]}, 422)
        with self.lock:
            self.tag_calls.append((request.method, contact["id"], given))
            kept = [tag for tag in contact.get("tags", []) if tag not in given]
            contact["tags"] = kept + given if request.method == "POST" else kept
        return JSONResponse({"tags": contact["tags"]}, 201 if request.method == "POST" else 200)

    # -- opportunities --

    async def list_pipelines(self, request: Request, location: str) -> Response:
        if request.query_params.get("locationId") != location:
            return JSONResponse({"statusCode": 422, "message": ["locationId is required"]}, 422)
        self.reads.append((request.url.path, dict(request.query_params)))
        return JSONResponse({"pipelines": self.pipelines[location]})

    async def search_opportunities(self, request: Request, location: str) -> Response:
        """Oldest first; the cursor is `startAfter` (createdAt in ms) + `startAfterId`, as `meta` gives them."""
        query = request.query_params
        if query.get("location_id") != location:
            return JSONResponse({"statusCode": 422, "message": ["location_id is required"]}, 422)
        await asyncio.sleep(self.search_delay)
        self.reads.append((request.url.path, dict(query)))
        limit = min(int(query.get("limit", 20)), 100)
        with self.lock:
            items = sorted(self.opportunities[location].values(), key=_created)
        if query.get("startAfterId"):
            cursor = (int(query.get("startAfter", 0)), query["startAfterId"])
            items = [o for o in items if _created(o) > cursor]
        page = items[:limit]
        last = page[-1] if page and len(items) > limit else None
        meta = {"total": len(self.opportunities[location]), "startAfterId": last["id"] if last else None,
                "startAfter": _created(last)[0] if last else None, "nextPageUrl": None}
        return JSONResponse({"opportunities": page, "meta": meta})

    # -- calendars --

    async def list_calendars(self, request: Request, location: str) -> Response:
        if request.query_params.get("locationId") != location:
            return JSONResponse({"statusCode": 422, "message": ["locationId is required"]}, 422)
        self.reads.append((request.url.path, dict(request.query_params)))
        return JSONResponse({"calendars": self.calendars[location]})

    async def calendar_events(self, request: Request, location: str) -> Response:
        """One calendar's events that start in [startTime, endTime) (ms since the epoch); no paging."""
        query = request.query_params
        if query.get("locationId") != location or not query.get("calendarId"):
            return JSONResponse({"statusCode": 422, "message": ["locationId and calendarId are required"]}, 422)
        try:
            start, end = int(query["startTime"]), int(query["endTime"])
        except (KeyError, ValueError):
            return JSONResponse({"statusCode": 422, "message": ["startTime and endTime are required"]}, 422)
        await asyncio.sleep(self.search_delay)
        self.reads.append((request.url.path, dict(query)))
        with self.lock:
            events = [e for e in self.events[location].values() if e["calendarId"] == query["calendarId"]
                      and start <= datetime.fromisoformat(e["startTime"]).timestamp() * 1000 < end]
        return JSONResponse({"events": events})

    async def create_opportunity(self, request: Request, location: str) -> Response:
        body = await request.json()
        missing = [f for f in ("pipelineId", "locationId", "name", "status", "contactId") if f not in body]
        if missing:
            return JSONResponse({"statusCode": 422, "message": [f"{f} is required" for f in missing]}, 422)
        stamp = self._stamp()
        opportunity = {**body, "id": f"o{next(self.ids)}", "createdAt": stamp, "updatedAt": stamp}
        self.opportunities[location][opportunity["id"]] = opportunity
        return JSONResponse({"opportunity": opportunity}, 201)

    async def opportunity(self, request: Request, location: str) -> Response:
        opportunity = self.opportunities[location].get(request.path_params["opp_id"])
        if opportunity is None:
            return JSONResponse({"statusCode": 404}, 404)
        if request.method == "PUT":
            opportunity.update(await request.json(), updatedAt=self._stamp())
        return JSONResponse({"opportunity": opportunity})

    async def opportunity_status(self, request: Request, location: str) -> Response:
        opportunity = self.opportunities[location].get(request.path_params["opp_id"])
        if opportunity is None:
            return JSONResponse({"statusCode": 404}, 404)
        opportunity["status"] = (await request.json())["status"]
        return JSONResponse({"succeded": True})

    async def recording(self, request: Request, location: str) -> Response:
        if request.path_params["location"] != location:
            return JSONResponse({"statusCode": 403}, 403)
        chunks = (RECORDING[i: i + 8192] for i in range(0, len(RECORDING), 8192))
        return StreamingResponse(chunks, media_type="audio/x-wav")


def _created(opportunity: dict[str, Any]) -> tuple[int, str]:
    moment = datetime.fromisoformat(opportunity["createdAt"].replace("Z", "+00:00"))
    return int(moment.timestamp() * 1000), opportunity["id"]


@contextmanager
def serve(app: Starlette) -> Iterator[str]:
    """uvicorn on 127.0.0.1, port 0, in a thread; yields the base URL; stops it at the end."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, timeout=10, what="fake server")
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
