"""Fixtures for the API clients: a limiter on the test Redis, private to each test, and client factories."""

from __future__ import annotations

import uuid

import pytest

from hookline.integrations.auth import HeaderAuth, StaticToken, TokenSet
from hookline.integrations.ghl import client as ghl
from hookline.integrations.idempotency import IdempotencyGuard
from hookline.integrations.ratelimit import RateLimiter
from hookline.integrations.reonic import client as reonic
from tests.support.tokens import MemoryTokenStore

GHL_API = "https://services.leadconnectorhq.com"
REONIC_API = "https://api.reonic.de/rest/v3"
FAST = {"attempts": 3, "backoff_cap": 0.05}  # tenacity's backoff, shortened for tests


@pytest.fixture()
def limiter(redis_client) -> RateLimiter:
    return RateLimiter(redis_client, max_wait=2.0, prefix=f"test:{uuid.uuid4().hex}")


@pytest.fixture()
def token_store() -> MemoryTokenStore:
    return MemoryTokenStore(TokenSet("pit-secret-token"))


@pytest.fixture()
def ghl_client(limiter, token_store) -> ghl.GHLClient:
    auth = HeaderAuth(StaticToken(token_store, "private-integration token"))
    return ghl.make_client(base_url=GHL_API, auth=auth, limiter=limiter, location_id="loc-1", app_id="app", **FAST)


@pytest.fixture()
def reonic_client(limiter, token_store, redis_client) -> reonic.ReonicClient:
    auth = HeaderAuth(StaticToken(token_store, "Reonic API key"), "X-Authorization", "{}")
    guard = IdempotencyGuard(redis_client, f"test:{uuid.uuid4().hex}:reonic")
    return reonic.make_client(base_url=REONIC_API, auth=auth, limiter=limiter, guard=guard, account="acct-1", **FAST)
