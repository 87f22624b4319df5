"""Real processes for end-to-end tests: started, waited for, and always stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for(predicate: Callable[[], object], *, timeout: float = 30, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


@contextmanager
def running(command: list[str], *, log: Path, env: dict[str, str] | None = None,
            cwd: Path | None = None, without: Iterable[str] = ()) -> Iterator[subprocess.Popen]:
    """Run `command` in its own process group, output to `log`; SIGTERM (then SIGKILL) at the end.

    Its environment is this process's, with `env` added and the variables named in `without` removed."""
    environ = {name: value for name, value in {**os.environ, **(env or {})}.items() if name not in without}
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=environ,
                                   cwd=cwd, start_new_session=True)
        try:
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()

