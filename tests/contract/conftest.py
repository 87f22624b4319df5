"""Stoplight Prism serving the providers' own OpenAPI documents, one process per document, once per session.

The documents are tests/fixtures/openapi; Node's npm/npx must be present, or every contract
test fails saying so. Prism is installed with npm into
tests/contract/node_modules on first use (version pinned in tests/contract/package.json).
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from hookline.integrations.auth import HeaderAuth, StaticToken, TokenSet
from hookline.integrations.ratelimit import RateLimiter
from tests.support.processes import free_port, wait_for
from tests.support.tokens import MemoryTokenStore

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SPECS = ROOT / "tests" / "fixtures" / "openapi"
PRISM = HERE / "node_modules" / ".bin" / "prism"


def _missing() -> str | None:
    if not SPECS.is_dir():
        return f"no OpenAPI documents at {SPECS}"
    if not PRISM.exists() and not (shutil.which("npm") and shutil.which("npx")):
        return "Node's npm/npx is not installed: Prism cannot run"
    return None


def _install_prism() -> None:
    if PRISM.exists():
        return
    done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(HERE)], cwd=HERE,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0 or not PRISM.exists():
        pytest.fail(f"npm install of Prism failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def _listening(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
    except httpx.TransportError:
        return False
    return True


@pytest.fixture(scope="session")
def prism(tmp_path_factory) -> Iterator[Callable[[str], str]]:
    """`prism("ghl/contacts.json")` → the base URL of a Prism mock of that document (started once)."""
    reason = _missing()
    if reason:
        pytest.fail(reason)
    _install_prism()
    logs = tmp_path_factory.mktemp("prism")
    started: dict[str, tuple[str, subprocess.Popen]] = {}

    def url_for(spec: str) -> str:
        if spec not in started:
            port = free_port()
            log = (logs / f"{spec.replace('/', '_')}.log").open("wb")
            process = subprocess.Popen([str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), str(SPECS / spec)],
                                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            started[spec] = (f"http://127.0.0.1:{port}", process)
            wait_for(lambda: _listening(started[spec][0]) or process.poll() is not None, timeout=120,
                     what=f"Prism for {spec}")
            assert process.poll() is None, (logs / f"{spec.replace('/', '_')}.log").read_text()[-2000:]
        return started[spec][0]

    yield url_for
    for _, process in started.values():
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture()
def limiter(redis_client) -> RateLimiter:
    return RateLimiter(redis_client, max_wait=2.0, prefix=f"test:{uuid.uuid4().hex}")


@pytest.fixture()
def bearer() -> HeaderAuth:
    return HeaderAuth(StaticToken(MemoryTokenStore(TokenSet("contract-test-token")), "token"))
