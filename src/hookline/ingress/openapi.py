"""GET /openapi.json: every route, built from the same source classes that serve them."""

from __future__ import annotations

from typing import Any

from hookline.ingress.oauth_callback import OAuthCallback
from hookline.ingress.pipeline import WebhookSource

ERROR = {"$ref": "#/components/schemas/Error"}
REFUSALS = {
    "400": "malformed body or missing header",
    "401": "signature, key or timestamp refused, or no secret configured (fail closed)",
    "404": "unknown tenant, account or token",
    "413": "body larger than the configured limit",
    "415": "unsupported content type",
    "422": "a well-formed body missing what this route needs",
    "429": "rate limited (and, for GoHighLevel, the inbox is unavailable): retry after Retry-After",
    "500": "an unexpected error, logged under the answer's x-request-id: retry later",
    "503": "the inbox is unavailable: retry after Retry-After",
}


def _webhook_operation(source: WebhookSource) -> dict[str, Any]:
    doc = source.doc
    parameters = [{"name": name, "in": "path", "required": True, "description": text, "schema": {"type": "string"}}
                  for name, text in doc.path_params.items()]
    parameters += [{"name": name, "in": "header", "required": False, "description": text, "schema": {"type": "string"}}
                   for name, text in doc.headers.items()]
    accepted = {"description": "stored (202) or a duplicate of a stored event (200)",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}}
    responses: dict[str, Any] = {"202": accepted, "200": accepted}
    responses |= {code: {"description": text, "content": {"application/json": {"schema": ERROR}}}
                  for code, text in REFUSALS.items()}
    return {
        "summary": doc.summary,
        "operationId": f"webhook_{source.provider}",
        "tags": ["webhooks"],
        "parameters": parameters,
        "requestBody": {"required": True,
                        "content": {media: {"schema": {"type": "object"}} for media in source.media_types}},
        "responses": responses,
    }


def _plain(summary: str, description: str, media: str = "application/json") -> dict[str, Any]:
    return {"get": {"summary": summary, "operationId": summary.lower().replace(" ", "_"), "tags": ["operations"],
                    "responses": {"200": {"description": description, "content": {media: {"schema": {}}}},
                                  "503": {"description": "not ready"}}}}


def document(sources: list[WebhookSource]) -> dict[str, Any]:
    paths: dict[str, Any] = {source.path: {"post": _webhook_operation(source)} for source in sources}
    paths["/healthz"] = _plain("Health", "the process is up")
    paths["/readyz"] = _plain("Readiness", "the database and the broker are reachable (status `degraded`: "
                                           "a setting refuses one provider's deliveries, named in the body)")
    paths["/metrics"] = _plain("Metrics", "Prometheus text exposition", "text/plain")
    paths["/openapi.json"] = _plain("OpenAPI", "this document")
    paths[OAuthCallback.path] = {"get": {
        "summary": "GoHighLevel install callback", "operationId": "ghl_install_callback", "tags": ["install"],
        "description": "The Marketplace app's redirect URL: exchanges `code` for tokens when `state` is one "
                       "`hookline ghl install-url` made, unexpired and unused (README, Connect GoHighLevel).",
        "parameters": [{"name": name, "in": "query", "required": True, "schema": {"type": "string"}}
                       for name in ("code", "state")],
        "responses": {"200": {"description": "what was connected", "content": {"text/html": {"schema": {}}}},
                      "400": {"description": "a forged, expired or used state, or a refused code: nothing stored",
                              "content": {"text/html": {"schema": {}}}},
                      "502": {"description": "GoHighLevel could not be reached: nothing stored",
                              "content": {"text/html": {"schema": {}}}},
                      "503": {"description": "the app or Redis is not configured: nothing stored",
                              "content": {"text/html": {"schema": {}}}}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Hookline ingress", "version": "1"},
        "paths": paths,
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
            "Accepted": {"type": "object", "required": ["event_id", "status", "duplicate"], "properties": {
                "event_id": {"type": "integer"}, "status": {"type": "string"}, "duplicate": {"type": "boolean"}}},
        }},
    }
