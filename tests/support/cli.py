"""The `hookline` command as a real process, against the test database."""

import os
import subprocess
import sys
from pathlib import Path

HOOKLINE = str(Path(sys.executable).parent / "hookline")


def hookline(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([HOOKLINE, *args], capture_output=True, text=True, timeout=60, input=input,
                          env={**os.environ, **(env or {})})
