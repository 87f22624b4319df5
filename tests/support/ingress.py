"""The ingress as a real process (`hookline web`, uvicorn) on a free loopback port."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.processes import free_port, running, wait_for

BIN = Path(sys.executable).parent


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def ingress(log: Path, *, bin_dir: Path = BIN, cwd: Path | None = None, **env: str) -> Iterator[str]:
    """Start `hookline web` (from `bin_dir`) with extra environment `env`; yield its base URL once /healthz answers."""
    url = f"http://127.0.0.1:{free_port()}"
    port = url.rsplit(":", 1)[1]
    with running([str(bin_dir / "hookline"), "web"], log=log, env={"HOOKLINE_PORT": port, **env},
                 cwd=cwd) as process:
        wait_for(lambda: _healthy(url) or process.poll() is not None, what=f"ingress on {url}")
        assert process.poll() is None, log.read_text()
        yield url
