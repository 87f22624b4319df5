"""Postmark's email API (POST /email, https://postmarkapp.com/developer/user-guide/send-email-with-api).

Postmark answers 200 with a MessageID, 422 with an ErrorCode for a message it will never send
(unverified sender, inactive recipient), 401 for a bad token: every 4xx is permanent except
429 (its rate limit), which is retried like a 5xx or a timeout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from hookline.integrations.email import OutgoingEmail
from hookline.integrations.errors import RejectedError, TransientError

if TYPE_CHECKING:
    from hookline.config import Settings


class PostmarkTransport:
    name = "postmark"

    def __init__(self, http: httpx.Client, *, message_stream: str = "outbound") -> None:
        self._http = http  # base_url, timeout and the server token set by from_settings()
        self.message_stream = message_stream

    @classmethod
    def from_settings(cls, settings: Settings) -> PostmarkTransport:
        assert settings.postmark_server_token is not None  # Settings refuses postmark without one
        http = httpx.Client(base_url=settings.postmark_api_url, timeout=settings.postmark_timeout_seconds,
                            headers={"Accept": "application/json",
                                     "X-Postmark-Server-Token": settings.postmark_server_token.get_secret_value()})
        return cls(http, message_stream=settings.postmark_message_stream)

    def send(self, email: OutgoingEmail) -> str:
        body: dict[str, Any] = {
            "From": email.sender, "To": email.to, "Subject": email.subject, "TextBody": email.text,
            "HtmlBody": email.html, "MessageStream": self.message_stream,
            "Headers": [{"Name": "Message-ID", "Value": email.message_id}],
        }
        if email.reply_to:
            body["ReplyTo"] = email.reply_to
        return str(self._request("POST", "/email", json=body)["MessageID"])

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:  # timeouts, resets, DNS
            raise TransientError(f"Postmark {method} {path}: {exc!r}") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientError(f"Postmark {method} {path}: {response.status_code} {response.text[:200]}",
                                 retry_after=_retry_after(response))
        if response.is_error:
            raise RejectedError(f"Postmark {method} {path}: {response.status_code} {response.text[:300]}")
        return response.json()

    def close(self) -> None:
        self._http.close()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None
