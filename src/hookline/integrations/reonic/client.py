"""Reonic REST API v3 for one account: contacts, residential projects and offers, notes, activities, files."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from hookline.integrations.errors import NotFound
from hookline.integrations.http import TIMEOUT, ApiClient, header_int, tls_context
from hookline.integrations.idempotency import IdempotencyGuard
from hookline.integrations.ratelimit import Bucket, RateLimiter
from hookline.integrations.reonic import resources as r

M = TypeVar("M", bound=BaseModel)
PER_PAGE = 200  # itemsPerPage maximum
MINUTE = 60.0
# GETs are answered from a cache up to an hour old unless asked not to; a fresh read spends the
# 30/min `uncached` bucket instead of the 500/min one.
FRESH = {"Reonic-Cache-Control": "no-cache"}


class ReonicClient(ApiClient):
    """One Reonic account (API key). Writes are POSTs with no idempotency key: each takes ours."""

    provider = "reonic"

    def __init__(self, http: httpx.Client, limiter: RateLimiter, *, account: str, guard: IdempotencyGuard,
                 cached: Bucket, uncached: Bucket, **options: Any) -> None:
        super().__init__(http, limiter, f"reonic:{account}", **options)
        self.guard, self.cached, self.uncached = guard, cached, uncached

    # -- rate limits: 500/min GETs served from cache, 30/min everything else --

    def buckets(self, method: str, path: str, headers: dict[str, str]) -> Sequence[Bucket]:
        if method == "GET" and headers.get("Reonic-Cache-Control", "").lower() != "no-cache":
            return (self.cached,)
        return (self.uncached,)

    def _bucket(self, response: httpx.Response) -> Bucket | None:
        name = response.headers.get("x-ratelimit-bucket", "").lower()
        return {"cached": self.cached, "uncached": self.uncached}.get(name)

    def observe(self, response: httpx.Response) -> None:
        bucket, remaining = self._bucket(response), header_int(response.headers.get("x-ratelimit-remaining"))
        if bucket is None or remaining is None:
            return
        limit = header_int(response.headers.get("x-ratelimit-limit")) or bucket.limit
        self.limiter.pad(self.limit_key, bucket, limit - remaining)

    def on_rate_limited(self, response: httpx.Response, seconds: float) -> None:
        bucket = self._bucket(response)
        self.limiter.block(self.limit_key, seconds, bucket.name if bucket else None)

    # -- plumbing --

    def _get(self, path: str, fresh: bool) -> Any:
        return self.json("GET", path, headers=FRESH if fresh else None)

    def _page(self, model: type[M], path: str, params: dict[str, Any]) -> r.Page[M]:
        body = self.json("GET", path, params={key: value for key, value in params.items() if value is not None})
        return r.Page[model].model_validate(body)  # type: ignore[valid-type]  # pydantic parametrizes at run time

    def _all(self, fetch: Callable[[int], r.Page[M]]) -> Iterator[M]:
        page = 1
        while True:
            batch = fetch(page)
            yield from batch.data
            if not batch.data or page >= batch.pagination.total_pages:
                return
            page += 1

    def _create(self, model: type[M], path: str, body: dict[str, Any], idempotency_key: str) -> M:
        answer = self.guard.run(idempotency_key, lambda: self.json("POST", path, json=body))
        return model.model_validate(answer)

    def _update(self, model: type[M], path: str, body: dict[str, Any]) -> M:
        # Sending the same fields twice leaves the same state: retried like a PUT.
        return model.model_validate(self.json("POST", path, json=body, idempotent=True))

    # -- contacts --

    def get_contact(self, contact_id: str, *, fresh: bool = False) -> r.Contact:
        return r.Contact.model_validate(self._get(f"/contacts/{contact_id}", fresh))

    def list_contacts(self, *, page: int = 1, per_page: int = PER_PAGE, updated_after: str | None = None,
                      email: str | None = None, sort: str | None = None) -> r.Page[r.Contact]:
        params = {"page": page, "itemsPerPage": per_page, "updatedAt.gt": updated_after, "email": email, "sort": sort}
        return self._page(r.Contact, "/contacts", params)

    def iter_contacts(self, **filters: Any) -> Iterator[r.Contact]:
        return self._all(lambda page: self.list_contacts(page=page, **filters))

    def create_contact(self, contact: dict[str, Any], *, idempotency_key: str) -> r.Contact:
        """`contact` needs firstName, lastName and marketingConsent (Reonic's ContactCreate)."""
        return self._create(r.Contact, "/contacts/create", contact, idempotency_key)

    def update_contact(self, contact_id: str, change: dict[str, Any]) -> r.Contact:
        return self._update(r.Contact, f"/contacts/{contact_id}/update", change)

    # -- residential projects and their offers (variants) --

    def get_project(self, project_id: str, *, fresh: bool = False) -> r.ResidentialProject:
        return r.ResidentialProject.model_validate(self._get(f"/residentialProjects/{project_id}", fresh))

    def list_projects(self, *, page: int = 1, per_page: int = PER_PAGE, stages: Sequence[str] = (),
                      deal_states: Sequence[str] = (), contact_id: str | None = None,
                      updated_after: str | None = None, sort: str | None = None,
                      archived: str | None = None) -> r.Page[r.ResidentialProject]:
        """Residential projects; `stages` (request|offer|installation) and `deal_states` (Open|Won|Lost) are lists.

        `archived`: exclude (Reonic's default), include or only.
        """
        params = {"page": page, "itemsPerPage": per_page, "stage": list(stages) or None,
                  "dealState": list(deal_states) or None, "contactId": contact_id, "updatedAt.gt": updated_after,
                  "sort": sort, "archived": archived}
        return self._page(r.ResidentialProject, "/residentialProjects", params)

    def iter_projects(self, **filters: Any) -> Iterator[r.ResidentialProject]:
        return self._all(lambda page: self.list_projects(page=page, **filters))

    def create_project(self, project: dict[str, Any], *, idempotency_key: str) -> r.ResidentialProject:
        """`project` needs stage and customerContact ({id} of a contact, or a new contact's fields)."""
        return self._create(r.ResidentialProject, "/residentialProjects/create", project, idempotency_key)

    def update_project(self, project_id: str, change: dict[str, Any]) -> r.ResidentialProject:
        return self._update(r.ResidentialProject, f"/residentialProjects/{project_id}/update", change)

    def offer_variants(self, project_id: str) -> list[r.Variant]:
        body = self.json("GET", f"/residentialProjects/{project_id}/variants")
        items = body.get("data", []) if isinstance(body, dict) else body
        return [r.Variant.model_validate(item) for item in items]

    def signature_requests(self, project_id: str, *, fresh: bool = False) -> list[r.SignatureRequest]:
        """The offers sent from a project for signature (one list, not paginated)."""
        body = self._get(f"/residentialProjects/{project_id}/signatureRequests", fresh)
        return [r.SignatureRequest.model_validate(item) for item in body.get("data", [])]

    def signature_request(self, project_id: str, request_id: str, *, fresh: bool = False) -> r.SignatureRequest:
        """Reonic has no GET for one signature request: the project's list, and the one with that id."""
        for request in self.signature_requests(project_id, fresh=fresh):
            if request.id == request_id:
                return request
        raise NotFound(f"reonic signature request {request_id} is not among project {project_id}'s")

    # -- notes, activities, files --

    def list_notes(self, parent_type: str, parent_id: str, *, page: int = 1, per_page: int = PER_PAGE) -> r.Page[r.Note]:
        return self._page(r.Note, "/notes", {"parentType": parent_type, "parentId": parent_id, "page": page,
                                              "itemsPerPage": per_page})

    def create_note(self, parent_type: str, parent_id: str, text: str, *, idempotency_key: str) -> r.Note:
        body = {"parent": {"type": parent_type, "id": parent_id}, "text": text}
        return self._create(r.Note, "/notes/create", body, idempotency_key)

    def list_activities(self, parent_type: str, parent_id: str, *, page: int = 1,
                        per_page: int = PER_PAGE) -> r.Page[r.Activity]:
        return self._page(r.Activity, "/activities", {"parentType": parent_type, "parentId": parent_id, "page": page,
                                                      "itemsPerPage": per_page})

    def log_activity(self, parent_type: str, parent_id: str, *, kind: str, outcome: r.Outcome, note: str,
                     idempotency_key: str) -> r.Activity:
        """A manual call or meeting on a project (`activities/manual/create`)."""
        body = {"type": kind, "outcome": outcome, "note": note, "parentId": parent_id, "parentType": parent_type}
        return self._create(r.Activity, "/activities/manual/create", body, idempotency_key)

    def list_files(self, parent_type: str, parent_id: str, *, page: int = 1, per_page: int = PER_PAGE) -> r.Page[r.File]:
        return self._page(r.File, "/files", {"parentType": parent_type, "parentId": parent_id, "page": page,
                                              "itemsPerPage": per_page})

    def get_file(self, file_id: str) -> r.File:
        """A file, with a download URL valid for 24 h."""
        return r.File.model_validate(self.json("GET", f"/files/{file_id}"))

    def create_upload(self) -> dict[str, Any]:
        """`{uploadId, uploadUrl, expiresAt}`: PUT the raw bytes to uploadUrl, then `create_file(upload_id=…)`."""
        return self.json("POST", "/uploads/create")

    def create_file(self, parent_type: r.ParentType, parent_id: str, name: str, *, idempotency_key: str,
                    upload_id: str | None = None, url: str | None = None) -> r.File:
        if (upload_id is None) == (url is None):
            raise ValueError("give exactly one of upload_id and url")
        body = {"name": name, "parent": {"type": parent_type, "id": parent_id},
                **({"uploadId": upload_id} if upload_id else {"url": url})}
        return self._create(r.File, "/files/create", body, idempotency_key)


def make_client(*, base_url: str, auth: httpx.Auth, limiter: RateLimiter, guard: IdempotencyGuard, account: str,
                cached_limit: int = 500, uncached_limit: int = 30, slack: float = 0.1,
                timeout: httpx.Timeout = TIMEOUT, **options: Any) -> ReonicClient:
    http = httpx.Client(base_url=base_url.rstrip("/") + "/", auth=auth, timeout=timeout, verify=tls_context())
    return ReonicClient(http, limiter, account=account, guard=guard, cached=Bucket("cached", cached_limit, MINUTE + slack),
                        uncached=Bucket("uncached", uncached_limit, MINUTE + slack), **options)
