"""The shared retry policy and the argument check, as plain functions."""

import random

import pytest
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from hookline.integrations.errors import RejectedError, TransientError
from hookline.workers import arguments, retry
from hookline.workers.limits import LONGEST_BROKER_DELAY


@pytest.mark.parametrize("retries", range(12))
def test_backoff_grows_exponentially_with_jitter_up_to_the_cap(retries):
    ceiling = min(retry.MAX_DELAY, retry.BASE_DELAY * 2 ** retries)

    delays = [retry.backoff(retries, rng=random.Random(seed)) for seed in range(50)]

    assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
    assert len(set(delays)) > 1  # jittered: tasks failing together do not come back together


def test_a_providers_retry_after_is_a_floor():
    assert retry.backoff(0, retry_after=30, rng=random.Random(1)) == 30
    assert retry.backoff(20, retry_after=1, rng=random.Random(1)) >= retry.MAX_DELAY / 2


def test_no_backoff_is_longer_than_the_broker_holds_a_delayed_message():
    # A longer countdown would be refused (workers/limits.refuse_long_delay): the task waits again instead.
    assert retry.backoff(0, retry_after=7200) == LONGEST_BROKER_DELAY
    assert retry.backoff(30, cap=10 * LONGEST_BROKER_DELAY, rng=random.Random(1)) == LONGEST_BROKER_DELAY


def test_transient_and_permanent_errors():
    assert retry.is_transient(TransientError("503"))
    assert retry.is_transient(OperationalError("SELECT 1", {}, Exception("connection refused")))
    assert not retry.is_transient(RejectedError("422"))
    assert not retry.is_transient(ValueError("a bug"))
    assert not retry.is_transient(ValidationError.from_exception_data("Contact", []))


def typed(*, tenant_id: int, event_id: int, note: str | None = None) -> None:
    """A task body's signature."""


def test_arguments_are_checked_against_the_signature_without_showing_values():
    arguments.check("t", typed, {"tenant_id": 1, "event_id": 2})
    arguments.check("t", typed, {"tenant_id": 1, "event_id": 2, "note": "x"})

    with pytest.raises(retry.InvalidArguments) as caught:
        arguments.check("t", typed, {"tenant_id": 1, "event_id": "sk_live_secret", "extra": 1})

    message = str(caught.value)
    assert message.startswith("invalid arguments for t: ")
    assert "event_id: Input should be a valid integer" in message and "extra: Extra inputs are not permitted" in message
    assert "sk_live_secret" not in message
