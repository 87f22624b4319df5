"""GoHighLevel API v2 for one location: contacts, opportunities, calendars, notes, call recordings."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import IO, Any

import httpx

from hookline.integrations.errors import Transient
from hookline.integrations.ghl import resources as r
from hookline.integrations.http import TIMEOUT, ApiClient, header_int, tls_context
from hookline.integrations.ratelimit import Bucket, RateLimiter

# The `Version` header is per API area (the specs' enums): calendars and conversations are older.
V_CRM = "2021-07-28"  # contacts, opportunities, locations, custom fields
V_CALENDARS = "2021-04-15"  # calendars and conversations
PAGE_LIMIT = 100  # contacts search pageLimit and opportunities limit (documented maximum for the latter)
DAY = 86_400.0


class GHLClient(ApiClient):
    """One location. Raises only hookline.integrations.errors types; retries only idempotent calls."""

    provider = "ghl"

    def __init__(self, http: httpx.Client, limiter: RateLimiter, *, location_id: str, app_id: str,
                 burst: Bucket, daily: Bucket, slack: float = 0.1, **options: Any) -> None:
        super().__init__(http, limiter, f"ghl:{app_id}:{location_id}", **options)
        self.location_id, self.burst, self.daily, self.slack = location_id, burst, daily, slack

    # -- rate limits: 100 / 10 s and 200,000 / day per app and location, as the headers say --

    def buckets(self, method: str, path: str, headers: dict[str, str]) -> Sequence[Bucket]:
        return (self.burst, self.daily)

    def observe(self, response: httpx.Response) -> None:
        headers = response.headers
        limit, interval = header_int(headers.get("x-ratelimit-max")), header_int(headers.get("x-ratelimit-interval-milliseconds"))
        if limit and interval and (limit, interval / 1000 + self.slack) != (self.burst.limit, self.burst.window):
            self.burst = Bucket(self.burst.name, limit, interval / 1000 + self.slack)
        remaining = header_int(headers.get("x-ratelimit-remaining"))
        if remaining is not None:
            self.limiter.pad(self.limit_key, self.burst, self.burst.limit - remaining)
        daily_limit, daily_remaining = header_int(headers.get("x-ratelimit-limit-daily")), header_int(headers.get("x-ratelimit-daily-remaining"))
        if daily_limit and daily_limit != self.daily.limit:
            self.daily = Bucket(self.daily.name, daily_limit, DAY, fixed=True)
        if daily_remaining is not None:
            self.limiter.pad(self.limit_key, self.daily, self.daily.limit - daily_remaining)

    def _call(self, method: str, path: str, version: str, **kwargs: Any) -> Any:
        kwargs["headers"] = {"Version": version, "Accept": "application/json", **kwargs.get("headers", {})}
        return self.json(method, path, **kwargs)

    # -- contacts --

    def get_contact(self, contact_id: str) -> r.Contact:
        return r.Contact.model_validate(self._call("GET", f"/contacts/{contact_id}", V_CRM)["contact"])

    def upsert_contact(self, contact: r.ContactIn) -> r.Upserted:
        """Create or update by the location's duplicate rule; safe to repeat, so it is retried like a PUT."""
        return r.Upserted.model_validate(self._call("POST", "/contacts/upsert", V_CRM, json=contact.body(), idempotent=True))

    def add_tags(self, contact_id: str, tags: list[str]) -> list[str]:
        """`POST /contacts/{id}/tags`: adds to the contact's tags (a tag it has stays one); safe to repeat."""
        body = self._call("POST", f"/contacts/{contact_id}/tags", V_CRM, json={"tags": tags}, idempotent=True)
        return list(body.get("tags") or [])

    def remove_tags(self, contact_id: str, tags: list[str]) -> list[str]:
        """`DELETE /contacts/{id}/tags` with the tags in the body; removing one it lacks changes nothing."""
        return list(self._call("DELETE", f"/contacts/{contact_id}/tags", V_CRM, json={"tags": tags}).get("tags") or [])

    def search_contacts(self, *, page: int = 1, page_limit: int = PAGE_LIMIT, query: str | None = None,
                        filters: list[dict[str, Any]] | None = None,
                        sort: list[dict[str, str]] | None = None) -> r.ContactPage:
        """One page of `POST /contacts/search` (it needs locationId and pageLimit, or answers 422).

        The published document types the body as `SearchBodyV2DTO`, an object with no declared
        fields, and requires only `Version: 2021-07-28` and the bearer token; the fields are the
        ones its linked "advanced filters" page names (INTEGRATIONS.md, contact search).
        """
        body: dict[str, Any] = {"locationId": self.location_id, "page": page, "pageLimit": page_limit}
        if query:
            body["query"] = query
        if filters:
            body["filters"] = filters
        if sort:
            body["sort"] = sort
        # A search changes nothing: retried as a read.
        return r.ContactPage.model_validate(self._call("POST", "/contacts/search", V_CRM, json=body, idempotent=True))

    def contacts_updated_since(self, since: str | None, *, page: int = 1,
                               page_limit: int = PAGE_LIMIT) -> r.ContactPage:
        """Contacts whose `dateUpdated` is at or after `since` (all when None), oldest change first.

        The advanced-search filter and sort shapes (`range` / `gte`, `sort: [{field, direction}]`).
        """
        filters = [{"field": "dateUpdated", "operator": "range", "value": {"gte": since}}] if since else None
        return self.search_contacts(page=page, page_limit=page_limit, filters=filters,
                                    sort=[{"field": "dateUpdated", "direction": "asc"}])

    def iter_contacts(self, *, page_limit: int = PAGE_LIMIT, **search: Any) -> Iterator[r.Contact]:
        page = 1
        while True:
            batch = self.search_contacts(page=page, page_limit=page_limit, **search)
            yield from batch.contacts
            if len(batch.contacts) < page_limit or page * page_limit >= batch.total:
                return
            page += 1

    # -- opportunities --

    def pipelines(self) -> list[r.Pipeline]:
        body = self._call("GET", "/opportunities/pipelines", V_CRM, params={"locationId": self.location_id})
        return [r.Pipeline.model_validate(item) for item in body.get("pipelines", [])]

    def search_opportunities(self, *, limit: int = PAGE_LIMIT, start_after: int | None = None,
                             start_after_id: str | None = None, **filters: str) -> r.OpportunityPage:
        """One page of `GET /opportunities/search` (snake_case filters: pipeline_id, status, contact_id…)."""
        params: dict[str, Any] = {"location_id": self.location_id, "limit": limit, **filters}
        if start_after_id:
            params |= {"startAfter": start_after, "startAfterId": start_after_id}
        return r.OpportunityPage.model_validate(self._call("GET", "/opportunities/search", V_CRM, params=params))

    def iter_opportunities(self, *, limit: int = PAGE_LIMIT, **filters: str) -> Iterator[r.Opportunity]:
        """Every match, following the `meta.startAfter` / `startAfterId` cursor."""
        cursor: tuple[int | None, str | None] = (None, None)
        while True:
            page = self.search_opportunities(limit=limit, start_after=cursor[0], start_after_id=cursor[1], **filters)
            yield from page.opportunities
            following = (page.meta.start_after, page.meta.start_after_id)
            if not page.opportunities or not following[1] or following == cursor:
                return
            cursor = following

    def get_opportunity(self, opportunity_id: str) -> r.Opportunity:
        return r.Opportunity.model_validate(self._call("GET", f"/opportunities/{opportunity_id}", V_CRM)["opportunity"])

    def create_opportunity(self, opportunity: r.OpportunityIn) -> r.Opportunity:
        body = self._call("POST", "/opportunities/", V_CRM, json=opportunity.body())
        return r.Opportunity.model_validate(body["opportunity"])

    def update_opportunity(self, opportunity_id: str, change: r.OpportunityUpdate) -> r.Opportunity:
        body = self._call("PUT", f"/opportunities/{opportunity_id}", V_CRM, json=change.body())
        return r.Opportunity.model_validate(body["opportunity"])

    def set_opportunity_status(self, opportunity_id: str, status: r.Status, lost_reason_id: str | None = None) -> None:
        body: dict[str, Any] = {"status": status}
        if lost_reason_id:
            body["lostReasonId"] = lost_reason_id
        self._call("PUT", f"/opportunities/{opportunity_id}/status", V_CRM, json=body)

    # -- calendars: appointments and events --

    def get_appointment(self, event_id: str) -> r.Appointment:
        body = self._call("GET", f"/calendars/events/appointments/{event_id}", V_CALENDARS)
        return r.Appointment.model_validate(body.get("event", body))  # a read wraps it in `event`

    def create_appointment(self, appointment: r.AppointmentIn) -> r.Appointment:
        body = self._call("POST", "/calendars/events/appointments", V_CALENDARS, json=appointment.body())
        return r.Appointment.model_validate(body)

    def update_appointment(self, event_id: str, change: r.AppointmentUpdate) -> r.Appointment:
        body = self._call("PUT", f"/calendars/events/appointments/{event_id}", V_CALENDARS, json=change.body())
        return r.Appointment.model_validate(body)

    def calendars(self) -> list[r.Calendar]:
        body = self._call("GET", "/calendars/", V_CALENDARS, params={"locationId": self.location_id})
        return r.CalendarPage.model_validate(body).calendars

    def calendar_events(self, calendar_id: str, start_ms: int, end_ms: int) -> list[r.Appointment]:
        """`GET /calendars/events` for one calendar between two instants (ms since the epoch)."""
        params = {"locationId": self.location_id, "calendarId": calendar_id, "startTime": start_ms, "endTime": end_ms}
        body = self._call("GET", "/calendars/events", V_CALENDARS, params=params)
        return [r.Appointment.model_validate(item) for item in body.get("events", [])]

    # -- notes --

    def notes(self, contact_id: str) -> list[r.Note]:
        body = self._call("GET", f"/contacts/{contact_id}/notes", V_CRM)
        return [r.Note.model_validate(item) for item in body.get("notes", [])]

    def create_note(self, contact_id: str, text: str, *, user_id: str | None = None) -> r.Note:
        payload = {"body": text, **({"userId": user_id} if user_id else {})}
        return r.Note.model_validate(self._call("POST", f"/contacts/{contact_id}/notes", V_CRM, json=payload)["note"])

    # -- the location itself --

    def get_location(self, location_id: str | None = None) -> r.Location:
        body = self._call("GET", f"/locations/{location_id or self.location_id}", V_CRM)
        return r.Location.model_validate(body.get("location", body))

    # -- call recordings --

    def download_recording(self, message_id: str, out: IO[bytes], *, chunk_size: int = 65_536) -> int:
        """Stream a call's recording (audio/x-wav) into `out`; retried from the start on a broken transfer."""
        path = f"/conversations/messages/{message_id}/locations/{self.location_id}/recording"

        def attempt() -> int:
            out.seek(0)
            out.truncate()
            written = 0
            with self.stream("GET", path, headers={"Version": V_CALENDARS}) as response:
                try:
                    for chunk in response.iter_bytes(chunk_size):
                        out.write(chunk)
                        written += len(chunk)
                except httpx.TransportError as exc:
                    raise Transient(f"GHL GET {path}: transfer broke ({type(exc).__name__})") from exc
            return written

        return self._retrying(True, attempt)


def make_client(*, base_url: str, auth: httpx.Auth, limiter: RateLimiter, location_id: str, app_id: str,
                burst_limit: int = 100, burst_window: float = 10.0, daily_limit: int = 200_000, slack: float = 0.1,
                timeout: httpx.Timeout = TIMEOUT, client_class: type[GHLClient] | None = None, **options: Any) -> Any:
    """A client of `client_class` (GHLClient; GHLCompanyClient for an agency, `location_id` its companyId)."""
    http = httpx.Client(base_url=base_url, auth=auth, timeout=timeout, verify=tls_context())
    return (client_class or GHLClient)(http, limiter, location_id=location_id, app_id=app_id, slack=slack,
                     burst=Bucket("burst", burst_limit, burst_window + slack),
                     daily=Bucket("daily", daily_limit, DAY, fixed=True), **options)
