"""Errors shared by every integration: callers branch on these, never on httpx or provider types."""


class IntegrationError(Exception):
    """Base class for failures talking to, or hearing from, an external system."""


class TransientError(IntegrationError):
    """Worth retrying later (timeouts, 5xx, 429); `retry_after` in seconds when the provider said."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RejectedError(IntegrationError):
    """The provider refused the request for good; retrying will not help."""


class InvalidSignature(IntegrationError):
    """A webhook failed authentication; `reason` is short and stable (used in logs and metrics)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
