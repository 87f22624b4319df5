"""Errors shared by every integration: callers branch on these, never on httpx or provider types.

The five a caller meets from an API client: `Transient` (try again later), `RateLimited` (try
again after `retry_after`), `Permanent` (give up), `NotFound` (give up: it is gone) and
`AuthExpired` (give up until an operator reconnects the account).
"""


class IntegrationError(Exception):
    """Base class for failures talking to, or hearing from, an external system."""


class TransientError(IntegrationError):
    """Worth retrying later (timeouts, 5xx, 429); `retry_after` in seconds when the provider said."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RejectedError(IntegrationError):
    """The provider refused the request for good; retrying will not help."""


Transient = TransientError
Permanent = RejectedError


class RateLimited(TransientError):
    """Over a rate limit: retry after `retry_after` seconds (always set), e.g. `task.retry(countdown=…)`."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after: float = retry_after


class NotFound(RejectedError):
    """The object asked for does not exist (404)."""


class AuthExpired(RejectedError):
    """The credentials are refused and cannot be renewed here (revoked refresh token, bad API key).

    The connection is marked `needs_reauth`; tasks must stop retrying until it is reconnected.
    """


class InvalidSignature(IntegrationError):
    """A webhook failed authentication; `reason` is short and stable (used in logs and metrics)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
