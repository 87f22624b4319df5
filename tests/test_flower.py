"""`hookline flower`: Flower as a real process, behind basic auth from settings, its state kept in var/."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.cli import hookline
from tests.support.ingress import BIN
from tests.support.processes import free_port, running, wait_for


def _answering(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code > 0
    except httpx.TransportError:
        return False


def test_flower_refuses_to_start_without_basic_auth(tmp_path):
    result = hookline("flower", env={"HOOKLINE_VAR_DIR": str(tmp_path)})

    assert result.returncode == 1
    assert "HOOKLINE_FLOWER_BASIC_AUTH is not set" in result.stderr


def test_a_bad_basic_auth_setting_is_named(tmp_path):
    result = hookline("flower", env={"HOOKLINE_FLOWER_BASIC_AUTH": "no-password-here"})

    assert result.returncode == 1
    assert "HOOKLINE_FLOWER_BASIC_AUTH" in result.stderr


def test_flower_asks_for_the_login_keeps_it_out_of_argv_and_saves_its_state(tmp_path, redis_client):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"HOOKLINE_FLOWER_BASIC_AUTH": "ops:correct-horse-battery", "HOOKLINE_FLOWER_PORT": str(port),
           "HOOKLINE_VAR_DIR": str(tmp_path)}
    with running([str(BIN / "hookline"), "flower"], log=tmp_path / "flower.log", env=env) as process:
        wait_for(lambda: _answering(url) or process.poll() is not None, timeout=60, what="flower")
        assert process.poll() is None, (tmp_path / "flower.log").read_text()
        anonymous = httpx.get(f"{url}/workers", timeout=5)
        wrong = httpx.get(f"{url}/workers", auth=("ops", "guess"), timeout=5)
        right = httpx.get(f"{url}/workers", auth=("ops", "correct-horse-battery"), timeout=5)
        argv = Path(f"/proc/{process.pid}/cmdline").read_bytes()

    assert (anonymous.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert b"correct-horse-battery" not in argv
    assert b"flower" in argv  # the process is Flower itself (hookline flower execs it)
    assert list(tmp_path.glob("flower.db*")), "Flower saves its state on shutdown"
