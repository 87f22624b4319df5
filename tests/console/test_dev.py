"""`hookline dev` starts the console from its Procfile line, with an operator login it made in var/."""

import re
import stat
from pathlib import Path

import httpx

from tests.support.cli import HOOKLINE
from tests.support.processes import free_port, running, wait_for

PROCFILE = Path(__file__).resolve().parents[2] / "Procfile"


def test_dev_starts_the_console_and_its_login_in_var_signs_in(tmp_path, database):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"HOOKLINE_VAR_DIR": str(tmp_path / "var"), "HOOKLINE_CONSOLE_PORT": str(port), "HOOKLINE_CONSOLE_USERS": ""}
    (tmp_path / "var").mkdir()

    with running([HOOKLINE, "dev", "--procfile", str(PROCFILE), "--only", "console"], log=tmp_path / "dev.log",
                 env=env) as process:
        wait_for(lambda: process.poll() is not None or _answers(url), timeout=90, what="the console under dev")
        assert process.poll() is None, (tmp_path / "dev.log").read_text()
        login = tmp_path / "var" / "console-login"
        name, _, password = login.read_text().strip().partition(":")
        with httpx.Client(base_url=url, timeout=10) as client:
            token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)[1]
            signed_in = client.post("/login", data={"name": name, "password": password, "csrf": token})
            tenants = client.get("/tenants")

    assert stat.S_IMODE(login.stat().st_mode) == 0o600
    assert signed_in.status_code == 303 and tenants.status_code == 200
    assert f"{name} (operator)" in tenants.text
    assert password not in (tmp_path / "dev.log").read_text()


def _answers(url):
    try:
        return httpx.get(f"{url}/login", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
