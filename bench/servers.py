"""The servers under test: uvicorn processes, started, waited for, measured and always stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


class Server:
    """`uvicorn APP` on a free loopback port in its own process group, output to `log`; ready once /healthz answers."""

    def __init__(self, label: str, app: list[str], *, workers: int, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.label, self.log = label, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "uvicorn", *app, "--host", "127.0.0.1", "--port", str(self.port),
                   "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
        with log.open("wb") as out:
            self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + 90  # a loaded machine can take this long to import and start two workers
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code < 500:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        sys.exit(f"{self.label} did not start; its log ({self.log}):\n{self.log.read_text()[-3000:]}")

    def cpu_seconds(self) -> tuple[float, float]:
        """User + system CPU so far of the server's own process, and of its child processes (Linux /proc)."""
        own, children, pids = 0.0, 0.0, [self.process.pid]
        while pids:
            pid = pids.pop()
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                below = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:  # gone already
                continue
            seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
            if pid == self.process.pid:
                own += seconds
            else:
                children += seconds
            pids.extend(int(child) for child in below)
        return own, children

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def free_port() -> int:
    # Closed again before uvicorn binds it, as in tests/support/processes.py.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_cpu_seconds(names: tuple[str, ...] = ("postgres", "redis-server")) -> dict[str, float]:
    """User + system CPU so far of every process whose command name is one of `names` (Linux /proc)."""
    totals = dict.fromkeys(names, 0.0)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, tail = stat.read_text().rsplit(")", 1)
        except OSError:  # gone already
            continue
        name = head.split("(", 1)[1]
        if name in totals:
            fields = tail.split()
            totals[name] += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return totals
