"""One error type for every refusal, one JSON body for every error."""

from __future__ import annotations

from starlette.responses import JSONResponse


class WebhookRejected(Exception):
    """A delivery refused before anything was stored."""

    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_response(status: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> JSONResponse:
    """Every error the ingress answers: `{"error": {"code": …, "message": …}}`."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)
