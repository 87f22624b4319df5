"""`hookline dev`: embedded PostgreSQL and Redis when no URLs are set, migrations, then the Procfile."""

from __future__ import annotations

import datetime
import os
import secrets
import shlex
import sys
import threading
import time
from pathlib import Path

from honcho.environ import parse_procfile
from honcho.manager import SYSTEM_PRINTER_NAME, Manager
from honcho.printer import Message, Printer

from hookline import dev_webhook_key, embedded, readiness
from hookline.config import ENV_PREFIX, Settings, get_settings
from hookline.migrate import upgrade

# Shipped in the package, so an installed `hookline dev` has it; the checkout's ./Procfile links here.
PROCFILE = Path(__file__).resolve().parent / "Procfile"


def run(settings: Settings, procfile: Path, only: list[str], *, started: float | None = None) -> int:
    """Run the Procfile's processes (or `only` these) until Ctrl-C; `started`: time.monotonic() at the command's start."""
    started = time.monotonic() if started is None else started
    processes = parse_procfile(procfile.read_text()).processes
    unknown = set(only) - set(processes)
    if unknown:
        raise SystemExit(f"hookline dev: no such Procfile process: {', '.join(sorted(unknown))}")
    processes = {name: command for name, command in processes.items() if not only or name in only}
    for name, url in embedded.fill_in(settings, broker=True).items():
        print(f"hookline dev: embedded server, {name}={url}", flush=True)
    upgrade(get_settings().sqlalchemy_url)
    logins = {"flower": _flower_credentials(get_settings()), "console": _console_user(get_settings())}
    dev_webhook_key.trust(settings)  # embedded default only: `hookline webhooks send`'s GoHighLevel key
    if get_settings().email_transport == "file":
        print(f"hookline dev: email is written to {get_settings().var_dir / 'mail'}/*.eml, not sent", flush=True)

    # The Procfile names `hookline` and `celery`: find them beside this interpreter even when the
    # virtualenv is not activated (e.g. `.venv/bin/hookline dev`).
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    # Workers count into prometheus-client's multiprocess files and the exporter serves their sum;
    # only they get the directory, or the ingress's and Flower's own figures would be summed in too.
    counting = {**env, "PROMETHEUS_MULTIPROC_DIR": str(_metrics_dir(get_settings()))}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    manager = _Manager(Printer(sys.stdout))
    ingress = any(_is_ingress(command) for command in processes.values())
    healthz = f"http://{get_settings().host}:{get_settings().port}/healthz" if ingress else None
    for name, command in processes.items():
        counts = " worker " in command or "metrics-exporter" in command
        # The working directory, not the Procfile's: processes read ./.env and ./var from where dev started.
        manager.add_process(name, restartable(name, command, after=healthz), env=counting if counts else env,
                            cwd=os.getcwd())
    stop = threading.Event()
    threading.Thread(target=_say_when_ready, args=(manager, processes, logins, started, stop), daemon=True).start()
    manager.loop()  # Ctrl-C: SIGTERM to every process, SIGKILL after a grace period
    stop.set()
    # Ctrl-C or SIGTERM (honcho's 130, 143): the stop that was asked for, so a success once all stopped.
    return 0 if manager.returncode in (130, 143) else manager.returncode or 0


class _Manager(Manager):
    """honcho's Manager, with an event set once every process is started (its forks done) and a way to print."""

    def __init__(self, printer: Printer) -> None:
        super().__init__(printer)
        self.started = threading.Event()

    def _start(self) -> None:
        super()._start()
        self.started.set()

    def say(self, text: str) -> None:
        """A line among the processes' output, printed by honcho's loop (from any thread)."""
        self.events.put(Message(type="line", data=text + "\n", time=datetime.datetime.now(), name=SYSTEM_PRINTER_NAME,
                                colour=None))


def _say_when_ready(manager: _Manager, processes: dict[str, str], logins: dict[str, str], started: float,
                    stop: threading.Event) -> None:
    """The ready line, with where each process is, once all answer (hookline.readiness)."""
    manager.started.wait()
    found, lines = readiness.probes(processes, get_settings(), logins)
    if readiness.wait(found, manager.say, started, stop):
        manager.say("\n".join([f"hookline dev: ready in {time.monotonic() - started:.1f} s", *lines]))


def restartable(name: str, command: str, *, after: str | None = None) -> str:
    """`command`, run by hookline.restarts so that it is started again when it dies (honcho would
    stop every process). Not the ingress: a failure of `hookline web` still stops `hookline dev`.

    `after` (the ingress's /healthz): what a first webhook does not need, all but the worker of the
    `webhooks` queue's main lane, starts once it answers, so that those two have the CPU first (bench/startup.py)."""
    argv = shlex.split(command)
    if _is_ingress(command):
        return command
    first = (readiness.is_worker(argv) and "webhooks" in readiness.worker_queues(argv)
             and readiness.worker_lanes(argv) != "bulk")
    wait = ["--after", after] if after and not first else []
    return shlex.join([sys.executable, "-m", "hookline.restarts", *wait, name, "--", *argv])


def _is_ingress(command: str) -> bool:
    return shlex.split(command)[:2] == ["hookline", "web"]


def _flower_credentials(settings: Settings) -> str:
    """Flower needs basic auth; unless it is set, make one login for this ./var. Says where the login is."""
    if settings.flower_basic_auth is not None:
        return f"login in {ENV_PREFIX}FLOWER_BASIC_AUTH"
    path = _dev_login(settings, "flower-basic-auth")
    os.environ[f"{ENV_PREFIX}FLOWER_BASIC_AUTH"] = path.read_text().strip()
    get_settings.cache_clear()
    return f"login in {path}"


def _console_user(settings: Settings) -> str:
    """The console needs users; unless they are set, make one operator for this ./var. Says where the login is."""
    if settings.console_users is not None:
        return f"logins from {ENV_PREFIX}CONSOLE_USERS"
    from hookline.console.users import hash_password

    path = _dev_login(settings, "console-login")
    name, _, password = path.read_text().strip().partition(":")
    os.environ[f"{ENV_PREFIX}CONSOLE_USERS"] = f"{name}:operator:{hash_password(password)}"
    get_settings.cache_clear()
    return f"operator login in {path}"


def _dev_login(settings: Settings, name: str) -> Path:
    """var/<name>: "admin:<random password>", made once, readable by the owner only."""
    path = settings.var_dir / name
    if not path.exists():
        path.write_text(f"admin:{secrets.token_urlsafe(12)}\n")
        path.chmod(0o600)
    return path


def _metrics_dir(settings: Settings) -> Path:
    """The workers' prometheus-client multiprocess files, emptied before any process starts."""
    path = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or settings.var_dir / "metrics").resolve()
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):  # the last run's figures: counters start again from zero
        stale.unlink()
    return path
