"""One location's budget: a client calling flat out spends all of it, and never more."""

from __future__ import annotations

import time
import uuid

from hookline.integrations.auth import HeaderAuth, StaticToken, TokenSet
from hookline.integrations.ghl import client as ghl
from hookline.integrations.ratelimit import RateLimiter
from tests.support.fake_ghl import FakeGHL, serve
from tests.support.tokens import MemoryTokenStore

LIMIT, WINDOW = 5, 1.0


def test_a_client_calling_flat_out_gets_a_full_window_every_window(redis_client):
    fake = FakeGHL(limit=LIMIT, window=WINDOW, arrival_delay=0.02)
    fake.add_contacts("loc-1", 1)
    access, _ = fake.issue("loc-1")
    limiter = RateLimiter(redis_client, max_wait=30, prefix=f"test:{uuid.uuid4().hex}")
    auth = HeaderAuth(StaticToken(MemoryTokenStore(TokenSet(access)), "private-integration token"))

    with serve(fake.app()) as url:
        client = ghl.make_client(base_url=url, auth=auth, limiter=limiter, location_id="loc-1", app_id="app-1",
                                 burst_limit=LIMIT, burst_window=WINDOW)  # the default slack
        # Four windows' worth fit in 3.9 windows only if each window starts as the last one's first
        # request leaves it (window + slack + a request's time); a slack of half a window fits three.
        stop = time.monotonic() + 3.9 * WINDOW
        while time.monotonic() < stop:
            client.get_contact("c1")

    admitted = sum(1 for arrived in fake.accepted["loc-1"] if arrived < stop)
    assert fake.refused_429["loc-1"] == 0
    assert fake.max_in_window("loc-1") <= LIMIT
    assert admitted >= 4 * LIMIT
