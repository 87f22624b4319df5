"""`hookline dev`'s restarts: run one Procfile command, and start it again when it dies.

honcho stops every process as soon as one exits, so a worker that died (the OOM killer, a crash)
used to take the whole platform down. `hookline dev` runs each restartable Procfile entry as
`python -m hookline.restarts NAME -- COMMAND…`: honcho sees one process that does not exit, and
this loop starts the command again after a backoff. A command that keeps dying at once (a bad
setting, a port in use) is given up after a few tries: this process then exits with the command's
code, and honcho stops the platform as before, with the error on screen.

Stopping: honcho signals the whole process group (SIGTERM, SIGKILL after its grace period), the
command included; this loop then starts nothing more, waits for the command, and exits with it.
It passes the signal on only when the command still runs FORWARD_AFTER seconds later (a signal
sent to this process alone): at once, the command would get it twice, and Flower, which exits
from its SIGTERM handler, printed a traceback when the second came during its state save.

`--after URL`: start the command only once URL answers (or after AFTER_SECONDS). `hookline dev` gives
it to what the first webhook does not need (all but the `webhooks` worker: the other workers, beat,
Flower, the console, the exporter) with the ingress's /healthz, so that on a 2-core machine the
ingress and that worker import first.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable

FIRST_BACKOFF = 1.0  # seconds before the first restart; doubles for each quick death in a row
MAX_BACKOFF = 30.0
STABLE_SECONDS = 60.0  # a run at least this long was healthy: the backoff starts again from the first
GIVE_UP_AFTER = 5  # quick deaths in a row (each run shorter than STABLE_SECONDS)
AFTER_SECONDS = 60.0  # --after: start anyway once this has passed
FORWARD_AFTER = 3.0  # seconds after a stop signal before it is passed on to a command still running


def supervise(name: str, command: list[str], *, say: Callable[[str], None] = print, after: str | None = None) -> int:
    """Run `command` until this process is told to stop; start it again whenever it exits by itself.

    `after`: a URL that must answer before the first start (for at most AFTER_SECONDS)."""
    stopping = False
    stop_signal, stopped_at = 0, 0.0

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping, stop_signal, stopped_at
        if not stopping:
            stopping, stop_signal, stopped_at = True, signum, time.monotonic()

    def wait(child: subprocess.Popen) -> int:
        forwarded = False
        while True:
            try:
                return child.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                if stopping and not forwarded and time.monotonic() - stopped_at >= FORWARD_AFTER:
                    child.send_signal(stop_signal)
                    forwarded = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    deadline = time.monotonic() + AFTER_SECONDS
    while after and not stopping and time.monotonic() < deadline and not answers(after):
        time.sleep(0.2)
    if stopping:
        return 0
    quick_deaths, backoff = 0, FIRST_BACKOFF
    while True:
        started = time.monotonic()
        returncode = wait(subprocess.Popen(command))
        if stopping:
            return returncode
        if time.monotonic() - started >= STABLE_SECONDS:
            quick_deaths, backoff = 0, FIRST_BACKOFF
        quick_deaths += 1
        if quick_deaths >= GIVE_UP_AFTER:
            say(f"hookline dev: {name} exited with {returncode} {quick_deaths} times in a row; giving up")
            return returncode or 1
        say(f"hookline dev: {name} exited with {returncode}; starting it again in {backoff:.0f} s")
        deadline = time.monotonic() + backoff
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.1)
        if stopping:
            return returncode
        backoff = min(backoff * 2, MAX_BACKOFF)


def answers(url: str) -> bool:
    """GET `url` answers 200 (within a second)."""
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


def main(argv: list[str]) -> int:
    after = None
    if len(argv) >= 2 and argv[0] == "--after":
        after, argv = argv[1], argv[2:]
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m hookline.restarts [--after URL] NAME -- COMMAND [ARG…]", file=sys.stderr)
        return 2
    return supervise(argv[0], argv[2:], say=lambda line: print(line, flush=True), after=after)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
