"""The fake GoHighLevel server, and worker processes that call it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.fake_ghl import FakeGHL, serve

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture()
def fake() -> FakeGHL:
    return FakeGHL(limit=1000, window=10.0)


@pytest.fixture()
def fake_url(fake):
    with serve(fake.app()) as url:
        yield url


def run_workers(argvs: list[list[str]], env: dict[str, str], timeout: float = 120) -> list[dict]:
    """Start one `tests.support.ghl_worker` process per argv at once; their JSON results, in order."""
    processes = [subprocess.Popen([sys.executable, "-m", "tests.support.ghl_worker", *argv], cwd=ROOT,
                                  env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for argv in argvs]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=timeout)
        assert process.returncode == 0, err.decode()[-3000:]
        results.append(json.loads(out.decode().strip().splitlines()[-1]))
    return results
