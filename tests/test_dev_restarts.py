"""`hookline dev` starts a process that died again (hookline.restarts) instead of stopping the platform."""

from __future__ import annotations

import http.server
import os
import signal
import socket
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx

from hookline.workers.app import app
from tests.support.ingress import BIN
from tests.support.processes import alive, free_port, running, wait_for

RESTARTS = [sys.executable, "-m", "hookline.restarts"]


def pids_in(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def test_a_command_that_dies_is_started_again_and_a_sigterm_stops_both(tmp_path):
    pids, log = tmp_path / "pids", tmp_path / "restarts.log"
    sleeper = f"import os, time; open({str(pids)!r}, 'a').write(f'{{os.getpid()}}\\n'); time.sleep(600)"
    with running([*RESTARTS, "sleeper", "--", sys.executable, "-c", sleeper], log=log) as supervisor:
        [first] = wait_for(lambda: pids_in(pids), timeout=20, what="the first run")

        os.kill(first, signal.SIGKILL)

        wait_for(lambda: len(pids_in(pids)) == 2, timeout=20, what="the second run")
        second = pids_in(pids)[1]
        assert supervisor.poll() is None and alive(second)
        os.killpg(supervisor.pid, signal.SIGTERM)  # what honcho does to each process on Ctrl-C
        assert supervisor.wait(timeout=15) is not None
    wait_for(lambda: not alive(second), timeout=10, what="the second run to stop")
    assert "hookline dev: sleeper exited with -9; starting it again in 1 s" in log.read_text()
    assert len(pids_in(pids)) == 2  # nothing started after the SIGTERM


# A command that counts the SIGTERMs it gets and takes a second to stop after the first (as Flower
# saving its state does); it writes its pid first.
COUNTER = """import os, signal, sys, time
out = open(sys.argv[1], 'a', buffering=1)
out.write(f'pid {os.getpid()}\\n')
def term(*_):
    out.write('SIGTERM\\n')
    if not getattr(term, 'seen', False):
        term.seen = True
        time.sleep(1)
        sys.exit(0)
signal.signal(signal.SIGTERM, term)
time.sleep(600)
"""


def test_a_sigterm_to_the_group_reaches_the_command_once(tmp_path):
    record, log = tmp_path / "record", tmp_path / "restarts.log"
    with running([*RESTARTS, "counter", "--", sys.executable, "-c", COUNTER, str(record)], log=log) as supervisor:
        wait_for(lambda: record.exists() and "pid" in record.read_text(), timeout=20, what="the command")

        os.killpg(supervisor.pid, signal.SIGTERM)  # honcho's stop

        assert supervisor.wait(timeout=15) == 0
    assert record.read_text().count("SIGTERM") == 1, record.read_text()


def test_a_sigterm_to_the_supervisor_alone_is_passed_on(tmp_path):
    record, log = tmp_path / "record", tmp_path / "restarts.log"
    with running([*RESTARTS, "counter", "--", sys.executable, "-c", COUNTER, str(record)], log=log) as supervisor:
        wait_for(lambda: record.exists() and "pid" in record.read_text(), timeout=20, what="the command")
        command = int(record.read_text().split()[1])

        os.kill(supervisor.pid, signal.SIGTERM)

        assert supervisor.wait(timeout=15) == 0
    assert not alive(command)
    assert record.read_text().count("SIGTERM") == 1, record.read_text()


def test_a_command_that_keeps_dying_at_once_is_given_up_with_its_exit_code(tmp_path):
    log = tmp_path / "restarts.log"
    with running([*RESTARTS, "broken", "--", sys.executable, "-c", "raise SystemExit(3)"], log=log) as supervisor:
        returncode = supervisor.wait(timeout=60)  # backoffs of 1 + 2 + 4 + 8 s

    assert returncode == 3
    lines = log.read_text().splitlines()
    assert lines.count("hookline dev: broken exited with 3; starting it again in 1 s") == 1
    assert lines[-1] == "hookline dev: broken exited with 3 5 times in a row; giving up"


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _worker_pid(name: str) -> int | None:
    stats = app.control.inspect(destination=[name], timeout=1).stats() or {}
    return stats.get(name, {}).get("pid")


def test_under_hookline_dev_a_killed_worker_comes_back_while_the_ingress_stays_up(database, tmp_path):
    node = f"devtest-{uuid.uuid4().hex[:8]}"
    name = f"{node}@{socket.gethostname()}"
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        "web: hookline web\n"
        f"worker: celery -A hookline.workers.app worker -n {node}@%h -Q maintenance --concurrency 1"
        " --without-mingle --without-gossip --loglevel INFO\n")
    url = f"http://127.0.0.1:{free_port()}"
    env = {"HOOKLINE_PORT": url.rsplit(":", 1)[1], "HOOKLINE_VAR_DIR": str(tmp_path / "var"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH")]))}
    with running([str(BIN / "hookline"), "dev", "--procfile", str(procfile)], log=tmp_path / "dev.log", env=env) as dev:
        wait_for(lambda: _healthy(url) or dev.poll() is not None, timeout=120, what="the ingress")
        first = wait_for(lambda: _worker_pid(name) or dev.poll() is not None, timeout=120, what="the worker")
        assert dev.poll() is None, (tmp_path / "dev.log").read_text()

        os.kill(first, signal.SIGKILL)  # as the OOM killer would

        wait_for(lambda: _worker_pid(name) not in (None, first) or dev.poll() is not None, timeout=120,
                 what="the worker started again")
        assert dev.poll() is None, (tmp_path / "dev.log").read_text()  # honcho alone stopped everything here
        second = _worker_pid(name)
        assert second not in (None, first) and _healthy(url)
        os.killpg(dev.pid, signal.SIGINT)  # Ctrl-C in the terminal: the foreground process group
        assert dev.wait(timeout=60) is not None
    assert not _healthy(url)
    wait_for(lambda: not alive(second), timeout=10, what="the worker to stop with hookline dev")
    assert "worker exited with -9; starting it again in 1 s" in (tmp_path / "dev.log").read_text()


def test_with_after_the_command_starts_only_once_the_url_answers(tmp_path):
    pids, port = tmp_path / "pids", free_port()
    sleeper = f"import os, time; open({str(pids)!r}, 'a').write(f'{{os.getpid()}}\\n'); time.sleep(600)"
    command = [*RESTARTS, "--after", f"http://127.0.0.1:{port}/healthz", "sleeper", "--", sys.executable, "-c", sleeper]
    with running(command, log=tmp_path / "restarts.log") as supervisor:
        time.sleep(3)
        assert pids_in(pids) == [] and supervisor.poll() is None  # the ingress does not answer yet

        class Healthy(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        server = http.server.HTTPServer(("127.0.0.1", port), Healthy)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            [started] = wait_for(lambda: pids_in(pids), timeout=20, what="the command after the URL answered")
        finally:
            server.shutdown()
        os.killpg(supervisor.pid, signal.SIGTERM)
        assert supervisor.wait(timeout=15) is not None
    wait_for(lambda: not alive(started), timeout=10, what="the command to stop")
