"""What every API client shares: timeouts, the rate limiter, status → typed error, retries of idempotent calls."""

from __future__ import annotations

import email.utils
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import httpx
import structlog
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from hookline.integrations.errors import AuthExpired, NotFound, Permanent, RateLimited, Transient
from hookline.integrations.ratelimit import Bucket, RateLimiter

log = structlog.get_logger(__name__)

# Explicit everywhere: a provider that stops answering must not hold a worker for minutes.
TIMEOUT = httpx.Timeout(20.0, connect=5.0)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
DEFAULT_RETRY_AFTER = 10.0  # a 429 without Retry-After
MAX_429_ROUNDS = 3  # a 429 means "not processed", so even a POST may go again, a few times


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    """httpx's default verifying context, built once a process: building one loads the CA bundle
    (tens of ms of CPU), and a task builds its API client anew each run."""
    return httpx.create_ssl_context()


def retry_after(response: httpx.Response, *, now: float | None = None) -> float | None:
    """Seconds from `Retry-After` (delta-seconds or an HTTP date); None when absent or unreadable."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def header_int(value: str | None) -> int | None:
    """A rate-limit header as an int; None when absent or garbled."""
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def raise_for_status(provider: str, method: str, path: str, response: httpx.Response) -> None:
    """Map an error response onto our error types; return quietly for 1xx-3xx."""
    status = response.status_code
    if status < 400:
        return
    what = f"{provider} {method} {path}: {status}"
    if status == 429:
        raise RateLimited(what, retry_after=retry_after(response) or DEFAULT_RETRY_AFTER)
    if status in (408, 425) or status >= 500:
        raise Transient(what, retry_after=retry_after(response))
    detail = response.text[:200]  # the provider's reason, e.g. GoHighLevel's 422 message
    if status == 401:
        raise AuthExpired(f"{what} (credentials refused)")
    if status == 404:
        raise NotFound(what)
    raise Permanent(f"{what} {detail}".rstrip())


def _retryable(exc: BaseException) -> bool:
    # 429 is not retried here: the rate limiter's wait (or Celery's countdown) takes it.
    return isinstance(exc, Transient) and not isinstance(exc, RateLimited)


class ApiClient:
    """One provider account. Subclasses say which rate-limit buckets a request spends and read headers."""

    provider = "api"

    def __init__(self, http: httpx.Client, limiter: RateLimiter, limit_key: str, *, attempts: int = 4,
                 backoff_cap: float = 8.0) -> None:
        self._http, self.limiter, self.limit_key = http, limiter, limit_key
        self.attempts, self.backoff_cap = attempts, backoff_cap

    # Hooks for the provider clients.
    def buckets(self, method: str, path: str, headers: dict[str, str]) -> Sequence[Bucket]:
        return ()

    def observe(self, response: httpx.Response) -> None:
        """Feed the provider's rate-limit headers into the limiter."""

    def on_rate_limited(self, response: httpx.Response, seconds: float) -> None:
        self.limiter.block(self.limit_key, seconds)

    def request(self, method: str, path: str, *, idempotent: bool | None = None, **kwargs: Any) -> httpx.Response:
        """Send one call; GET/PUT/DELETE (or `idempotent=True`) are retried on 5xx and connection errors."""
        method = method.upper()
        idempotent = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        return self._retrying(idempotent, lambda: self._send(method, path, kwargs))

    @contextmanager
    def stream(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """A streamed response (not retried: the caller has seen part of the body); errors are raised first."""
        method = method.upper()
        response = self._send(method, path, kwargs, stream=True)
        try:
            yield response
        finally:
            response.close()

    def _retrying(self, idempotent: bool, call: Callable[[], Any]) -> Any:
        if not idempotent:
            return call()
        retrying = Retrying(retry=retry_if_exception(_retryable), stop=stop_after_attempt(self.attempts),
                            wait=wait_random_exponential(multiplier=0.5, max=self.backoff_cap), reraise=True)
        return retrying(call)

    def _send(self, method: str, path: str, kwargs: dict[str, Any], *, stream: bool = False) -> Any:
        headers = dict(kwargs.get("headers") or {})
        for _ in range(MAX_429_ROUNDS):
            buckets = self.buckets(method, path, headers)
            ticket = self.limiter.acquire(self.limit_key, buckets)
            request = self._http.build_request(method, path, **kwargs)
            try:
                response = self._http.send(request, stream=stream)
            except httpx.TransportError as exc:  # timeouts, resets, refused connections, DNS
                raise Transient(f"{self.provider} {method} {path}: {type(exc).__name__}") from exc
            finally:  # the provider counted it on arrival, before now: our window runs from here
                self.limiter.answered(self.limit_key, buckets, ticket)
            self.observe(response)
            if response.status_code == 429:
                seconds = retry_after(response) or DEFAULT_RETRY_AFTER
                response.close()
                self.on_rate_limited(response, seconds)
                log.warning("integration.rate_limited", provider=self.provider, path=path, retry_after=seconds)
                continue  # the limiter now waits until then, or raises RateLimited if that is too long
            if response.is_error:
                if stream:
                    response.read()
                response.close()
                raise_for_status(self.provider, method, path, response)
            return response
        raise RateLimited(f"{self.provider} {method} {path}: still 429 after {MAX_429_ROUNDS} rounds",
                          retry_after=DEFAULT_RETRY_AFTER)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        try:
            return response.json() if response.content else {}
        except ValueError as exc:
            raise Transient(f"{self.provider} {method} {path}: the answer is not JSON") from exc
