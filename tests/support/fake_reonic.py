"""A fake Reonic API v3 for respx: keeps contacts, residential projects and signature requests, and
answers the reads Hookline makes as the spec says (`updatedAt.gt`, `sort`, `archived`, page-based
pagination, 404 for what it does not hold). Every request it answers is kept in `requests`.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

import httpx

from tests.support.webhooks import FIXTURES

API = "http://reonic.test/rest/v3"
API_KEY = "rnc_v3_test-key"


def sample(name: str, **changes: Any) -> dict[str, Any]:
    """One of our API-shaped samples (tests/fixtures/reonic/<name>.json) with `changes` applied."""
    return {**json.loads((FIXTURES / "reonic" / f"{name}.json").read_text()), **changes}


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class FakeReonic:
    def __init__(self) -> None:
        self.contacts: dict[str, dict[str, Any]] = {}
        self.projects: dict[str, dict[str, Any]] = {}
        self.signature_requests: dict[str, dict[str, Any]] = {}
        self.requests: list[httpx.Request] = []
        # "/contacts/<id>", or "/contacts?page=2" for one page of a list → the answer given instead
        self.outage: dict[str, httpx.Response] = {}

    def mount(self, respx_mock) -> FakeReonic:
        respx_mock.get(url__startswith=API).mock(side_effect=self.answer)
        return self

    # -- what a test sees --

    def calls(self, path: str) -> list[httpx.Request]:
        return [request for request in self.requests if request.url.path == f"/rest/v3{path}"]

    # -- the API --

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/rest/v3")
        for key in (path, f"{path}?page={request.url.params.get('page')}"):
            if key in self.outage:
                return self.outage[key]
        if request.headers.get("x-authorization") != API_KEY:
            return httpx.Response(401, json={"message": "invalid API key"})
        parts = request.url.path.removeprefix("/rest/v3/").split("/")
        match parts:
            case ["contacts"]:
                return self._list(request, self.contacts.values(), "createdAt")
            case ["contacts", contact_id]:
                return self._one(self.contacts.get(contact_id))
            case ["residentialProjects"]:
                archived = request.url.params.get("archived", "exclude")
                projects = [p for p in self.projects.values()
                            if archived == "include" or (p.get("archivedAt") is None) == (archived == "exclude")]
                return self._list(request, projects, "projectCreatedAt")
            case ["residentialProjects", project_id]:
                return self._one(self.projects.get(project_id))
            case ["residentialProjects", project_id, "signatureRequests"]:
                if project_id not in self.projects:
                    return httpx.Response(404, json={"message": "project not found"})
                return httpx.Response(200, json={"data": [copy.deepcopy(s) for s in self.signature_requests.values()
                                                          if s["projectId"] == project_id]})
        return httpx.Response(404, json={"message": "no such route"})

    @staticmethod
    def _one(item: dict[str, Any] | None) -> httpx.Response:
        if item is None:
            return httpx.Response(404, json={"message": "not found"})
        return httpx.Response(200, json=copy.deepcopy(item))

    @staticmethod
    def _list(request: httpx.Request, items: Any, default_sort: str) -> httpx.Response:
        params = request.url.params
        after = params.get("updatedAt.gt")
        chosen = [item for item in items if after is None or _instant(item["updatedAt"]) > _instant(after)]
        sort = params.get("sort") or default_sort
        chosen.sort(key=lambda item: item[sort.lstrip("-")], reverse=sort.startswith("-"))
        page, per_page = int(params.get("page", 1)), int(params.get("itemsPerPage", 50))
        pages = max(1, -(-len(chosen) // per_page))
        data = chosen[(page - 1) * per_page:page * per_page]
        return httpx.Response(200, json={"data": copy.deepcopy(data), "pagination": {
            "page": page, "perPage": per_page, "total": len(chosen), "totalPages": pages,
            "next": None, "prev": None}})
