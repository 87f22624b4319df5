"""`hookline dev`'s ready line: once every process answers, where each one is and how long it took.

Each Procfile command is matched to a probe: the ingress's /readyz (its database and broker too),
the console's, Flower's and the exporter's ports, and `inspect ping` for each worker node named
with `-n`. A command with no probe (beat, one of your own) counts once honcho has started it. The
probes run in a thread beside honcho's loop, every PAUSE seconds, for at most TIMEOUT seconds.
"""

from __future__ import annotations

import shlex
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from hookline.config import Settings
from hookline.restarts import answers

TIMEOUT = 180.0  # seconds: after this, say what has not answered and stop probing
PAUSE = 0.25  # seconds between rounds of probes


@dataclass
class Probe:
    process: str  # the Procfile name
    what: str  # what answers, for the line that says it does not
    answers: Callable[[], bool]
    close: Callable[[], None] = lambda: None


def probes(processes: dict[str, str], settings: Settings, logins: dict[str, str]) -> tuple[list[Probe], list[str]]:
    """The probes for these Procfile commands, and the lines of the ready message (where each one is).

    `logins`: where the console's and Flower's logins are ("console", "flower"), as `hookline dev` set them up."""
    found, lines, nodes = [], [], {}
    for name, command in processes.items():
        argv = shlex.split(command)
        if argv[:2] == ["hookline", "web"]:
            url = f"http://{settings.host}:{settings.port}"
            found.append(Probe(name, f"{url}/readyz", partial(answers, f"{url}/readyz")))
            lines.append(f"ingress  {url}  (webhooks: POST /webhooks/<provider>)")
        elif argv[:2] == ["hookline", "console"]:
            found.append(_port(name, settings.console_address, settings.console_port))
            lines.append(f"console  http://{settings.console_address}:{settings.console_port}  "
                         f"({logins['console']})")
        elif argv[:2] == ["hookline", "flower"]:
            found.append(_port(name, settings.flower_address, settings.flower_port))
            lines.append(f"Flower   http://{settings.flower_address}:{settings.flower_port}  "
                         f"({logins['flower']})")
        elif argv[:2] == ["hookline", "metrics-exporter"]:
            found.append(_port(name, settings.metrics_address, settings.metrics_port))
            lines.append(f"metrics  http://{settings.metrics_address}:{settings.metrics_port}/metrics")
        elif is_worker(argv):
            nodes[worker_node(argv)] = name
    if nodes:
        found.extend(_pings(nodes, settings))
        lines.append(f"workers  {', '.join(nodes)}  (hookline status; Flower's Workers tab)")
    return found, lines


def is_worker(argv: list[str]) -> bool:
    """A `celery … worker` command."""
    return bool(argv) and Path(argv[0]).name == "celery" and "worker" in argv


def worker_queues(argv: list[str]) -> list[str]:
    """The queues a `celery … worker` command consumes (-Q/--queues), [] when it names none."""
    for index, arg in enumerate(argv):
        if arg in ("-Q", "--queues") and index + 1 < len(argv):
            return argv[index + 1].split(",")
        if arg.startswith("--queues="):
            return arg.split("=", 1)[1].split(",")
    return []


def worker_lanes(argv: list[str]) -> str:
    """Which lanes a `celery … worker` command serves (--lanes; workers/app.py): all, main or bulk."""
    for index, arg in enumerate(argv):
        if arg == "--lanes" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--lanes="):
            return arg.split("=", 1)[1]
    return "all"


def worker_node(argv: list[str]) -> str:
    """The node name a `celery … worker` command gets: its -n/--hostname with %h expanded, else celery@host."""
    name = "celery@%h"
    for index, arg in enumerate(argv):
        if arg in ("-n", "--hostname") and index + 1 < len(argv):
            name = argv[index + 1]
        elif arg.startswith("--hostname="):
            name = arg.split("=", 1)[1]
    host = socket.gethostname()
    return name.replace("%h", host).replace("%n", host.split(".")[0]).replace("%d", host.partition(".")[2])


def wait(found: list[Probe], say: Callable[[str], None], started: float, stop: threading.Event,
         *, timeout: float = TIMEOUT) -> bool:
    """Probe until all answer (True) or `timeout` passes or `stop` is set (False); say which, once."""
    waiting = list(found)
    deadline = time.monotonic() + timeout
    try:
        while waiting and not stop.is_set() and time.monotonic() < deadline:
            waiting = [probe for probe in waiting if not _answers(probe)]
            if waiting:
                stop.wait(PAUSE)
    finally:
        for probe in found:
            probe.close()
    if stop.is_set():
        return False
    if waiting:
        say(f"hookline dev: not ready after {time.monotonic() - started:.0f} s; no answer from "
            + ", ".join(f"{probe.process} ({probe.what})" for probe in waiting))
        return False
    return True


def _answers(probe: Probe) -> bool:
    try:
        return probe.answers()
    except Exception:  # noqa: BLE001 - a probe that fails is a process that is not up yet
        return False


def _port(process: str, address: str, port: int) -> Probe:
    host = "127.0.0.1" if address in ("0.0.0.0", "") else "::1" if address == "::" else address

    def listens() -> bool:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return True
        except OSError:
            return False

    return Probe(process, f"port {port}", listens)


def _pings(nodes: dict[str, str], settings: Settings) -> list[Probe]:
    """One probe per worker node; a round's first probe pings them all, the others read its answer."""
    from celery import Celery  # here, not at import: only `hookline dev` pays for it, in this thread

    from hookline.redis_clients import broker_transport_options

    app = Celery("hookline-dev-ready", set_as_current=False)
    app.conf.update(broker_url=settings.broker,
                    broker_transport_options=broker_transport_options(settings.broker, settings.redis_sentinel_master))
    answered: set[str] = set()

    def pinged(node: str) -> bool:
        if node not in answered:
            for reply in app.control.ping(destination=[n for n in nodes if n not in answered], timeout=0.5):
                answered.update(reply)
        return node in answered

    return [Probe(process, f"{node} answering ping", partial(pinged, node), app.close)
            for node, process in nodes.items()]
