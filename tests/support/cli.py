"""The `hookline` command as a real process, against the test database."""

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

HOOKLINE = str(Path(sys.executable).parent / "hookline")


def environment(env: dict[str, str] | None = None, without: Iterable[str] = ()) -> dict[str, str]:
    """The test process's environment, with `env` added and the variables named in `without` removed."""
    merged = {**os.environ, **(env or {})}
    for name in without:
        merged.pop(name, None)
    return merged


def hookline(*args: str, env: dict[str, str] | None = None, input: str | None = None,  # noqa: A002 - as subprocess.run
             without: Iterable[str] = ()) -> subprocess.CompletedProcess:
    return subprocess.run([HOOKLINE, *args], capture_output=True, text=True, timeout=60, input=input,
                          env=environment(env, without))
