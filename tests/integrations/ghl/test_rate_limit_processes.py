"""Four worker processes share one GoHighLevel location's budget and never go over it, however slow the network."""

from __future__ import annotations

import time
import uuid

from tests.integrations.ghl.conftest import run_workers
from tests.support.fake_ghl import FakeGHL, serve

LIMIT, WINDOW = 20, 2.0


def test_four_processes_together_never_exceed_the_per_location_limit():
    fake = FakeGHL(limit=LIMIT, window=WINDOW)
    fake.add_contacts("loc-1", 1)
    access, _ = fake.issue("loc-1")
    calls_each = 15  # 60 calls: three windows' worth, so the limit must hold them back twice

    with serve(fake.app()) as url:
        start_at = str(time.time() + 3)  # after every process has imported and built its client
        argv = ["static", url, "loc-1", access, str(calls_each), start_at, str(LIMIT), str(WINDOW), "0.5"]
        results = run_workers([argv] * 4, {"LIMITER_PREFIX": f"test:{uuid.uuid4().hex}"})

    assert [result["errors"] for result in results] == [[]] * 4
    assert sum(result["ok"] for result in results) == 4 * calls_each
    assert fake.refused_429["loc-1"] == 0  # the server never had to refuse: the clients held back
    assert fake.max_in_window("loc-1") <= LIMIT
    assert fake.max_in_window("loc-1") >= LIMIT // 2  # and the budget was used, not idled away
    assert sum(result["rate_limited"] for result in results) > 0  # workers were told to come back later


def test_with_no_slack_a_varying_network_delay_still_never_puts_the_providers_window_over():
    # The fake counts a request when it arrives, up to 0.3 s after it left: a window counted from
    # departures would let a fast request in before a slow one of a window earlier has aged out there.
    fake = FakeGHL(limit=LIMIT, window=WINDOW, arrival_delay=0.3)
    fake.add_contacts("loc-1", 1)
    access, _ = fake.issue("loc-1")

    with serve(fake.app()) as url:
        start_at = str(time.time() + 3)
        argv = ["static", url, "loc-1", access, "15", start_at, str(LIMIT), str(WINDOW), "0"]
        results = run_workers([argv] * 4, {"LIMITER_PREFIX": f"test:{uuid.uuid4().hex}"})

    assert [result["errors"] for result in results] == [[]] * 4
    assert sum(result["ok"] for result in results) == 60
    assert fake.refused_429["loc-1"] == 0
    assert fake.max_in_window("loc-1") <= LIMIT
