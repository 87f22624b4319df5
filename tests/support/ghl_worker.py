"""A worker process for the multi-process tests: makes GoHighLevel calls as a Celery task would.

    python -m tests.support.ghl_worker tenant TENANT_ID CALLS START_AT
        the real wiring (services.api_clients.ghl_client): DB-stored OAuth tokens, shared limiter
    python -m tests.support.ghl_worker static BASE_URL LOCATION TOKEN CALLS START_AT LIMIT WINDOW SLACK
        a private-integration token, the limiter on HOOKLINE_TEST_REDIS_URL

Both wait until START_AT (unix time) so that every process starts its calls together, treat
RateLimited as a task would (wait `retry_after`, i.e. retry with that countdown) and print one
JSON line: {"ok": n, "rate_limited": n, "errors": [...]}.
"""

from __future__ import annotations

import json
import os
import sys
import time

import redis

from hookline.integrations.auth import HeaderAuth, StaticToken, TokenSet
from hookline.integrations.errors import IntegrationError, RateLimited
from hookline.integrations.ghl import client as ghl
from hookline.integrations.ratelimit import RateLimiter
from tests.support.tokens import MemoryTokenStore


def static_client(base_url: str, location: str, token: str, limit: int, window: float, slack: float) -> ghl.GHLClient:
    limiter = RateLimiter(redis.Redis.from_url(os.environ["HOOKLINE_TEST_REDIS_URL"]), max_wait=0.3,
                          prefix=os.environ["LIMITER_PREFIX"])
    auth = HeaderAuth(StaticToken(MemoryTokenStore(TokenSet(token)), "private-integration token"))
    return ghl.make_client(base_url=base_url, auth=auth, limiter=limiter, location_id=location, app_id="app-1",
                           burst_limit=limit, burst_window=window, slack=slack)


def main(argv: list[str]) -> None:
    if argv[0] == "tenant":
        from hookline.services.api_clients import ghl_client

        client, calls, start_at = ghl_client(int(argv[1])), int(argv[2]), float(argv[3])
    else:
        base_url, location, token, calls, start_at, limit, window, slack = argv[1:9]
        client = static_client(base_url, location, token, int(limit), float(window), float(slack))
        calls, start_at = int(calls), float(start_at)
    time.sleep(max(0.0, start_at - time.time()))
    result: dict = {"ok": 0, "rate_limited": 0, "errors": []}
    done = 0
    while done < calls:
        try:
            client.get_contact("c1")
        except RateLimited as exc:  # what TenantTask.retry(countdown=exc.retry_after) would do
            result["rate_limited"] += 1
            time.sleep(exc.retry_after)
            continue
        except IntegrationError as exc:
            result["errors"].append(f"{type(exc).__name__}: {exc}")
        else:
            result["ok"] += 1
        done += 1
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
