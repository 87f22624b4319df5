"""The Redis limiter: sliding and fixed windows, blocks from 429s, padding from the provider's headers."""

from __future__ import annotations

import time

import pytest

from hookline.integrations.errors import RateLimited
from hookline.integrations.ratelimit import Bucket

BURST = Bucket("burst", 3, 1.0)


def test_sliding_window_lets_the_limit_through_then_says_how_long_to_wait(limiter):
    assert [limiter.try_acquire("k", [BURST]) for _ in range(3)] == [0, 0, 0]

    wait = limiter.try_acquire("k", [BURST])

    assert 0.9 <= wait <= 1.01


def test_acquire_waits_for_a_slot_within_max_wait(limiter):
    for _ in range(3):
        limiter.acquire("k", [BURST])

    started = time.monotonic()
    limiter.acquire("k", [BURST])

    assert 0.9 <= time.monotonic() - started <= 1.6


def test_acquire_raises_rate_limited_with_the_wait_when_it_is_longer_than_max_wait(limiter):
    slow = Bucket("slow", 1, 60.0)
    limiter.acquire("k", [slow])

    with pytest.raises(RateLimited) as caught:
        limiter.acquire("k", [slow])

    assert 59 <= caught.value.retry_after <= 60.01  # Redis's clock in ms: a hair over the window


def test_a_block_holds_every_bucket_of_the_key_until_it_ends(limiter):
    limiter.block("k", 30)

    assert 29 <= limiter.try_acquire("k", [BURST]) <= 30
    assert limiter.try_acquire("other", [BURST]) == 0


def test_a_bucket_block_leaves_the_keys_other_buckets_free(limiter):
    cached, uncached = Bucket("cached", 500, 60), Bucket("uncached", 30, 60)

    limiter.block("acct", 20, "uncached")

    assert limiter.try_acquire("acct", [cached]) == 0
    assert 19 <= limiter.try_acquire("acct", [uncached]) <= 20


def test_a_waiting_request_takes_no_slot(limiter):
    one = Bucket("one", 1, 0.5)
    limiter.acquire("k", [one])
    for _ in range(5):
        assert limiter.try_acquire("k", [one]) > 0

    time.sleep(0.55)

    assert limiter.try_acquire("k", [one]) == 0


def test_padding_from_the_providers_remaining_header_spends_our_budget(limiter):
    limiter.acquire("k", [BURST])

    limiter.pad("k", BURST, used=3)  # the provider says 0 remaining: someone else spent it

    assert limiter.try_acquire("k", [BURST]) > 0


def test_padding_never_lowers_our_count(limiter):
    for _ in range(3):
        limiter.acquire("k", [BURST])

    limiter.pad("k", BURST, used=1)

    assert limiter.try_acquire("k", [BURST]) > 0


def test_a_fixed_window_counts_up_to_its_limit_until_the_window_ends(limiter):
    daily = Bucket("daily", 2, 3600.0, fixed=True)
    limiter.acquire("k", [daily])
    limiter.acquire("k", [daily])

    wait = limiter.try_acquire("k", [daily])

    assert 0 < wait <= 3600


def test_all_buckets_must_have_room_and_a_refusal_spends_none(limiter):
    burst, daily = Bucket("burst", 5, 10.0), Bucket("daily", 1, 3600.0, fixed=True)
    limiter.acquire("k", [burst, daily])

    assert limiter.try_acquire("k", [burst, daily]) > 0  # daily is full
    assert [limiter.try_acquire("k", [burst]) for _ in range(4)] == [0, 0, 0, 0]  # burst still had 4


def test_an_answered_request_counts_from_its_answer_not_from_when_it_left(limiter):
    one = Bucket("one", 1, 2.0)
    ticket = limiter.acquire("k", [one])
    time.sleep(0.5)  # the request is on its way
    counted_from_departure = limiter.try_acquire("k", [one])

    limiter.answered("k", [one], ticket)

    assert counted_from_departure <= 1.51
    assert limiter.try_acquire("k", [one]) > counted_from_departure + 0.3  # the whole window again


def test_answering_moves_a_slot_and_never_adds_one(limiter):
    two = Bucket("two", 2, 10.0)
    ticket = limiter.acquire("k", [two])

    limiter.answered("k", [two], ticket)
    limiter.answered("k", [two], ticket)

    assert limiter.try_acquire("k", [two]) == 0  # the second slot was still free
    assert limiter.try_acquire("k", [two]) > 0


def test_a_slot_the_window_dropped_while_its_request_was_out_is_counted_again(limiter):
    short = Bucket("short", 1, 0.3)
    ticket = limiter.acquire("k", [short])
    time.sleep(0.4)  # longer than the window: the slot has expired

    limiter.answered("k", [short], ticket)

    assert limiter.try_acquire("k", [short]) > 0  # the provider may have counted it just now


def test_answering_leaves_fixed_windows_alone(limiter):
    burst, daily = Bucket("burst", 5, 10.0), Bucket("daily", 2, 3600.0, fixed=True)
    ticket = limiter.acquire("k", [burst, daily])

    limiter.answered("k", [burst, daily], ticket)

    assert limiter.try_acquire("k", [burst, daily]) == 0  # daily still had its second
    assert limiter.try_acquire("k", [burst, daily]) > 0
