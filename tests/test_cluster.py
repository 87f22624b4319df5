"""bench/cluster.py as a test (slow: deselected unless `pytest -m slow`): five hosts in network
namespaces, a worker host killed, another cut off for 60 s, the Redis primary killed, the beat
leader's host killed; nothing acknowledged is lost or applied twice."""

import subprocess
import sys
from pathlib import Path

import pytest

CLUSTER = Path(__file__).resolve().parents[1] / "bench" / "cluster.py"


@pytest.mark.slow
def test_cluster_loses_nothing_and_duplicates_nothing_across_host_failures():
    result = subprocess.run([sys.executable, str(CLUSTER), "--webhooks", "1500", "--load-seconds", "100",
                             "--measure", "200"], capture_output=True, text=True, timeout=2400)

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "lost                   0" in result.stdout
    assert "duplicate effects      0" in result.stdout
    assert "Sentinel promoted" in result.stdout
    assert "is reachable again" in result.stdout
    assert "the beat leader is on" in result.stdout
