"""Operator commands as real processes: the replay's progress bar, the metrics exporter's refusal."""

import os
import pty
import subprocess

from hookline.models import EventStatus
from tests.support.cli import HOOKLINE, hookline
from tests.test_events_cli import seed


def test_a_bulk_replay_shows_a_progress_bar_on_a_terminal(tenant, redis_client):
    for key in ("a", "b", "c"):
        seed(tenant, key, status=EventStatus.PENDING, error="boom")
    leader, follower = pty.openpty()  # stderr is a terminal, as an operator's would be

    process = subprocess.run([HOOKLINE, "events", "replay", "--failed"], stdout=subprocess.PIPE, stderr=follower,
                             text=True, timeout=60)
    os.close(follower)
    terminal = os.read(leader, 65536).decode(errors="replace")
    os.close(leader)
    redis_client.delete("ghl_sync")

    assert process.returncode == 0, terminal
    assert "replaying  [####################################]  3/3" in terminal
    assert process.stdout.splitlines() == ["replayed 3 events"]  # no line per event in bulk


def test_without_a_terminal_a_bulk_replay_prints_no_bar(tenant, redis_client):
    seed(tenant, "a", status=EventStatus.PENDING, error="boom")

    result = hookline("events", "replay", "--failed")
    redis_client.delete("ghl_sync")

    assert result.returncode == 0, result.stderr
    assert "[#" not in result.stderr and result.stdout.splitlines() == ["replayed 1 event"]


def test_the_metrics_exporter_needs_the_workers_directory(tmp_path):
    result = hookline("metrics-exporter", env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "missing")})

    assert result.returncode == 1
    assert "PROMETHEUS_MULTIPROC_DIR must name an existing directory" in result.stderr
