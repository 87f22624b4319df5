"""Contacts fetched per second through the GoHighLevel client against the fake server at its rate limit.

Prints the rate and its fraction of the theoretical maximum, `limit / window × page size`,
measured after the first window (whose burst would flatter it). The shortfall is the limiter's
slack (HOOKLINE_API_RATE_SLACK_SECONDS: we count on sending, GoHighLevel on arrival) and the
round trips. The fake must refuse nothing: a 429 would mean the limiter let too much through.

    uv run python bench/sync.py [--limit 20] [--window 2] [--windows 8] [--page-limit 100] [--slack 0.5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support: the fake GoHighLevel server

from hookline.integrations.auth import HeaderAuth, StaticToken, TokenSet  # noqa: E402
from hookline.integrations.ghl import client as ghl  # noqa: E402
from hookline.integrations.ratelimit import RateLimiter  # noqa: E402
from tests.support.fake_ghl import FakeGHL, serve  # noqa: E402
from tests.support.tokens import MemoryTokenStore  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=20, help="fake server: requests per window and location")
    parser.add_argument("--window", type=float, default=2.0, help="fake server: window, seconds")
    parser.add_argument("--windows", type=int, default=8, help="measured windows after the first")
    parser.add_argument("--page-limit", type=int, default=100, help="contacts per search page")
    parser.add_argument("--slack", type=float, default=0.5, help="the limiter's slack, seconds")
    args = parser.parse_args()

    pages = args.limit * (args.windows + 1)
    fake = FakeGHL(limit=args.limit, window=args.window)
    fake.add_contacts("loc-bench", pages * args.page_limit)
    access, _ = fake.issue("loc-bench")
    client_redis = redis.Redis.from_url(os.environ.get("HOOKLINE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    limiter = RateLimiter(client_redis, max_wait=60, prefix=f"bench:{uuid.uuid4().hex}")
    auth = HeaderAuth(StaticToken(MemoryTokenStore(TokenSet(access)), "token"))

    with serve(fake.app()) as url:
        client = ghl.make_client(base_url=url, auth=auth, limiter=limiter, location_id="loc-bench", app_id="bench",
                                 burst_limit=args.limit, burst_window=args.window, slack=args.slack)
        fetched, started = 0, None
        for page in range(1, pages + 1):
            fetched += len(client.search_contacts(page=page, page_limit=args.page_limit).contacts)
            if page == args.limit:  # the first window's burst is over: measure from here
                started, fetched = time.monotonic(), 0
        elapsed = time.monotonic() - started

    rate = fetched / elapsed
    maximum = args.limit / args.window * args.page_limit
    print(f"fake limit: {args.limit} requests / {args.window:g} s per location, {args.page_limit} contacts per page")
    print(f"measured:   {fetched} contacts in {elapsed:.2f} s = {rate:,.0f} contacts/s")
    print(f"maximum:    {maximum:,.0f} contacts/s; fraction {rate / maximum:.2f} "
          f"(with {args.slack:g} s slack at most {args.window / (args.window + args.slack):.2f})")
    print(f"429s from the fake: {fake.refused_429['loc-bench']}; most in any {args.window:g} s: "
          f"{fake.max_in_window('loc-bench')}")


if __name__ == "__main__":
    main()
