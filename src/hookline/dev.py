"""`hookline dev`: embedded PostgreSQL and Redis when no URLs are set, migrations, then the Procfile."""

from __future__ import annotations

import os
import secrets
import shlex
import sys
from pathlib import Path

from honcho.environ import parse_procfile
from honcho.manager import Manager
from honcho.printer import Printer

from hookline import embedded
from hookline.config import ENV_PREFIX, Settings, get_settings
from hookline.migrate import upgrade

# Shipped in the package, so an installed `hookline dev` has it; the checkout's ./Procfile links here.
PROCFILE = Path(__file__).resolve().parent / "Procfile"


def run(settings: Settings, procfile: Path, only: list[str]) -> int:
    processes = parse_procfile(procfile.read_text()).processes
    unknown = set(only) - set(processes)
    if unknown:
        raise SystemExit(f"hookline dev: no such Procfile process: {', '.join(sorted(unknown))}")
    for name, url in embedded.fill_in(settings, broker=True).items():
        print(f"hookline dev: embedded server, {name}={url}", flush=True)
    upgrade(get_settings().sqlalchemy_url)
    _flower_credentials(get_settings())
    _console_user(get_settings())
    if get_settings().email_transport == "file":
        print(f"hookline dev: email is written to {get_settings().var_dir / 'mail'}/*.eml, not sent", flush=True)

    # The Procfile names `hookline` and `celery`: find them beside this interpreter even when the
    # virtualenv is not activated (e.g. `.venv/bin/hookline dev`).
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    # Workers count into prometheus-client's multiprocess files and the exporter serves their sum;
    # only they get the directory, or the ingress's and Flower's own figures would be summed in too.
    counting = {**env, "PROMETHEUS_MULTIPROC_DIR": str(_metrics_dir(get_settings()))}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    manager = Manager(Printer(sys.stdout))
    for name, command in processes.items():
        if not only or name in only:
            counts = " worker " in command or "metrics-exporter" in command
            # The working directory, not the Procfile's: processes read ./.env and ./var from where dev started.
            manager.add_process(name, restartable(name, command), env=counting if counts else env, cwd=os.getcwd())
    manager.loop()  # Ctrl-C: SIGTERM to every process, SIGKILL after a grace period
    return manager.returncode or 0


def restartable(name: str, command: str) -> str:
    """`command`, run by hookline.restarts so that it is started again when it dies (honcho would
    stop every process). Not the ingress: a failure of `hookline web` still stops `hookline dev`."""
    if shlex.split(command)[:2] == ["hookline", "web"]:
        return command
    return shlex.join([sys.executable, "-m", "hookline.restarts", name, "--", *shlex.split(command)])


def _flower_credentials(settings: Settings) -> None:
    """Flower needs basic auth; unless it is set, make one login for this ./var and say what it is."""
    if settings.flower_basic_auth is not None:
        return
    path = _dev_login(settings, "flower-basic-auth")
    os.environ[f"{ENV_PREFIX}FLOWER_BASIC_AUTH"] = path.read_text().strip()
    print(f"hookline dev: Flower on http://127.0.0.1:{settings.flower_port}, login in {path}", flush=True)
    get_settings.cache_clear()


def _console_user(settings: Settings) -> None:
    """The console needs users; unless they are set, make one operator for this ./var and say where its password is."""
    if settings.console_users is not None:
        return
    from hookline.console.users import hash_password

    path = _dev_login(settings, "console-login")
    name, _, password = path.read_text().strip().partition(":")
    os.environ[f"{ENV_PREFIX}CONSOLE_USERS"] = f"{name}:operator:{hash_password(password)}"
    print(f"hookline dev: console on http://127.0.0.1:{settings.console_port}, login (operator) in {path}", flush=True)
    get_settings.cache_clear()


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
