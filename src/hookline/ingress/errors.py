"""One error type for every refusal, one JSON body for every error."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse


class WebhookRejected(Exception):
    """A delivery refused before anything was stored."""

    def __init__(self, status: int, code: str, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status, self.code, self.detail, self.headers = status, code, detail, headers


async def rejected_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, WebhookRejected)
    return JSONResponse({"error": exc.code, "detail": exc.detail}, status_code=exc.status, headers=exc.headers)
