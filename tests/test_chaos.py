"""bench/chaos.py as a test (slow: deselected unless `pytest -m slow`): kill -9, Redis restarts, PostgreSQL cuts."""

import subprocess
import sys
from pathlib import Path

import pytest

CHAOS = Path(__file__).resolve().parents[1] / "bench" / "chaos.py"


@pytest.mark.slow
def test_chaos_loses_nothing_and_duplicates_nothing():
    result = subprocess.run([sys.executable, str(CHAOS), "--webhooks", "300", "--interval", "1"],
                            capture_output=True, text=True, timeout=1800)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "lost                   0" in result.stdout
    assert "duplicate effects      0" in result.stdout
