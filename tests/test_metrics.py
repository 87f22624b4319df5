"""The external API counters the integration clients count into."""

import pytest
from prometheus_client import REGISTRY

from hookline.metrics import count_api_call


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize(("status", "outcome", "limited"), [(200, "2xx", 0), (404, "4xx", 0), (429, "429", 1),
                                                            (503, "5xx", 0), (None, "error", 0)])
def test_each_call_counts_once_by_outcome_and_429s_count_as_rate_limited(status, outcome, limited):
    calls = sample("hookline_external_api_calls_total", provider="zoom", outcome=outcome)
    rate_limited = sample("hookline_external_api_rate_limited_total", provider="zoom")

    count_api_call("zoom", status)

    assert sample("hookline_external_api_calls_total", provider="zoom", outcome=outcome) == calls + 1
    assert sample("hookline_external_api_rate_limited_total", provider="zoom") == rate_limited + limited
