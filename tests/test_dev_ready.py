"""`hookline dev` with the whole Procfile: a ready line with where everything is, a quiet idle log, a clean Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import time

import httpx
from honcho.environ import parse_procfile

from hookline.dev import PROCFILE, restartable
from tests.support.cli import HOOKLINE
from tests.support.processes import alive, free_port, running, wait_for

IDLE_SECONDS = 20  # four of the relay's 5 s ticks, which added three lines each


def test_dev_says_when_it_is_ready_stays_quiet_when_idle_and_stops_cleanly_on_ctrl_c(tmp_path, redis_client):
    ports = {name: free_port() for name in ("PORT", "FLOWER_PORT", "CONSOLE_PORT", "METRICS_PORT")}
    # No console users or Flower login set: dev makes both in var/ and says where.
    env = {"HOOKLINE_VAR_DIR": str(tmp_path / "var"), **{f"HOOKLINE_{name}": str(port) for name, port in ports.items()}}
    log = tmp_path / "dev.log"

    def text() -> str:
        return log.read_text(errors="replace")

    with running([HOOKLINE, "dev"], log=log, env=env) as dev:  # its own process group, as in a terminal
        wait_for(lambda: "hookline dev: ready in" in text() or dev.poll() is not None, timeout=300,
                 what="the ready line")
        assert dev.poll() is None, text()
        # Once it says so, everything it lists answers.
        assert httpx.get(f"http://127.0.0.1:{ports['PORT']}/readyz", timeout=5).status_code == 200
        time.sleep(1)  # the rest of the ready message
        ready_at = len(text().splitlines())
        time.sleep(IDLE_SECONDS)
        idle = text().splitlines()[ready_at:]

        os.killpg(dev.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the foreground process group
        returncode = dev.wait(timeout=90)

    output = text()
    ready = output[output.index("hookline dev: ready in"):]
    host = socket.gethostname()
    assert re.search(r"hookline dev: ready in \d+\.\d s", ready)
    assert f"ingress  http://127.0.0.1:{ports['PORT']}" in ready
    assert f"Flower   http://127.0.0.1:{ports['FLOWER_PORT']}  (login in {tmp_path / 'var' / 'flower-basic-auth'})" in ready
    assert f"console  http://127.0.0.1:{ports['CONSOLE_PORT']}  (operator login in {tmp_path / 'var' / 'console-login'})" in ready
    assert f"metrics  http://127.0.0.1:{ports['METRICS_PORT']}/metrics" in ready
    assert f"workers  sync@{host}, io@{host}, batch@{host}" in ready

    # Idle: beat's ticks (the relay every 5 s, the minute's sweepers) print nothing.
    assert not [line for line in idle if "relay_unpublished" in line or "beat.sent" in line], idle
    assert len(idle) <= 2, idle  # before, 3 lines every 5 s

    stopping = output[output.index("SIGINT received"):]
    assert returncode == 0, stopping
    assert "Traceback" not in stopping and '"level": "error"' not in stopping and "ERROR" not in stopping, stopping
    pids = [int(pid) for pid in re.findall(r"started \(pid=(\d+)\)", output)]
    assert len(pids) == 8
    wait_for(lambda: not any(alive(pid) for pid in pids), timeout=10, what="every process to end")


def test_only_the_ingress_and_the_webhooks_main_lane_worker_start_before_the_ingress_answers():
    processes = parse_procfile(PROCFILE.read_text()).processes
    healthz = "http://127.0.0.1:8000/healthz"

    waiting = {name for name, command in processes.items() if "--after" in restartable(name, command, after=healthz)}

    assert set(processes) - waiting == {"web", "worker_sync"}
    # A worker of the webhooks queue's flood lane alone (docs/operations.md) waits like the rest.
    bulk = "celery -A hookline.workers.app worker -n bulk@%h -Q webhooks,ghl_sync --lanes bulk"
    assert "--after" in restartable("worker_bulk", bulk, after=healthz)
    assert "--after" not in restartable("worker_bulk", bulk.replace("--lanes bulk", "--lanes=main"), after=healthz)
