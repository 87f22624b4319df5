"""`hookline celery …` and `hookline env`: Celery's own CLI, and other tools, against this stack's servers.

Under the embedded default (no URLs set) a plain `celery -A hookline.workers.app …` has no
broker to read; these commands give it the one `hookline dev` uses (embedded.fill_in).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import click

from hookline.config import ENV_PREFIX

APP = "hookline.workers.app"


def _stack_settings():  # noqa: ANN202 - hookline.config.Settings
    """The configured URLs, else the embedded servers under the var dir (exported to os.environ)."""
    from hookline import embedded
    from hookline.cli import _settings

    settings = _settings()
    if settings.database_url is None or settings.broker_url is None:
        embedded.fill_in(settings, broker=True)
        settings = _settings()
    return settings


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def celery(args: tuple[str, ...]) -> None:
    """Run `celery -A hookline.workers.app ARGS…` with this stack's broker (the configured
    HOOKLINE_BROKER_URL, else the embedded one of `hookline dev`), keeping Celery's output and exit code.

    \b
    e.g. hookline celery inspect active
         hookline celery inspect ping
         hookline celery inspect registered
    Celery's own help: hookline celery inspect --help
    """
    if not args:
        raise click.UsageError("give Celery's arguments, e.g. `hookline celery inspect active`")
    _stack_settings()
    command = [str(Path(sys.executable).parent / "celery"), "-A", APP, *args]
    try:
        returncode = subprocess.run(command, env=os.environ.copy()).returncode
    except KeyboardInterrupt:  # Celery got the Ctrl-C too and has stopped
        returncode = 130
    # Exit from here, not by exec: the embedded servers this process may have started stop with it.
    sys.exit(returncode if returncode >= 0 else 128 - returncode)


@click.command()
def env() -> None:
    """Print `export` lines that point other tools at this stack: eval "$(hookline env)".

    Then a plain `celery -A hookline.workers.app inspect ping` (or psql "$HOOKLINE_DATABASE_URL")
    reaches the same servers. Under the embedded default they are `hookline dev`'s: run it first.
    Configured URLs are printed as configured, passwords included; the embedded key is named by its file.
    """
    from hookline.secrets_box import SECRET_KEY_FILE

    settings = _stack_settings()
    lines = {"DATABASE_URL": settings.database_url, "BROKER_URL": settings.broker_url,
             "VAR_DIR": str(settings.var_dir.resolve())}
    if settings.redis_url:
        lines["REDIS_URL"] = settings.redis_url
    for name, value in lines.items():
        click.echo(f"export {ENV_PREFIX}{name}={shlex.quote(str(value))}")
    key_file = settings.var_dir.resolve() / SECRET_KEY_FILE
    if _embedded_key(settings, key_file):  # the key itself stays in its file, out of the terminal
        click.echo(f'export {ENV_PREFIX}SECRET_KEYS="$(cat {shlex.quote(str(key_file))})"')
    from hookline import embedded

    if embedded.alone():
        click.echo("hookline env: no `hookline dev` runs on this var dir, so the embedded servers named here stop "
                   "when this command exits; start `hookline dev` first", err=True)


def _embedded_key(settings, key_file: Path) -> bool:  # noqa: ANN001 - hookline.config.Settings
    """Whether the secret keys in use are the embedded default's own key file."""
    keys = settings.secret_keys.get_secret_value() if settings.secret_keys is not None else None
    return key_file.exists() and keys == key_file.read_text().strip()
