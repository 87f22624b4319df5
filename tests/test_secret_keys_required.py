"""With a real database, every process that seals or opens credentials refuses to start without
HOOKLINE_SECRET_KEYS (a key of its own would seal what no other host can open), and says so."""

from __future__ import annotations

import subprocess

import psycopg
import pytest

from tests.conftest import ADMIN_URL, DATABASE
from tests.support.cli import environment, hookline
from tests.support.ingress import BIN
from tests.support.processes import free_port

KEYS = "HOOKLINE_SECRET_KEYS"
REFUSAL = f"{KEYS} is not set"


def run(command: list[str], **env: str) -> subprocess.CompletedProcess:
    """`command` without the keys; one that does not refuse runs on past the timeout and fails the test."""
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=environment(env, [KEYS]))


def stored(sql: str) -> list[tuple]:
    with psycopg.connect(ADMIN_URL, dbname=DATABASE) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.parametrize("command", [
    [str(BIN / "hookline"), "web"],
    [str(BIN / "uvicorn"), "--factory", "hookline.ingress.app:create_app"],  # the app factory checks too
], ids=["hookline-web", "uvicorn-factory"])
def test_the_ingress_refuses_to_start(database, command):
    port = str(free_port())

    done = run([*command, "--port", port] if "uvicorn" in command[0] else command, HOOKLINE_PORT=port)

    assert done.returncode != 0
    assert REFUSAL in done.stdout + done.stderr
    assert "hookline credentials new-key" in done.stdout + done.stderr


def test_a_worker_refuses_to_start(database):
    done = run([str(BIN / "celery"), "-A", "hookline.workers.app", "worker", "-Q", "maintenance",
                "--without-mingle", "--without-gossip"])

    assert done.returncode == 1
    assert f"hookline worker: {REFUSAL}" in done.stderr


def test_commands_that_seal_credentials_refuse_and_store_nothing(tenant):
    refused = [
        hookline("connections", "add", "--tenant", "sunny-solar", "--provider", "reonic", "--account-id", "rc-1",
                 "--secret-stdin", input="reonic-signing-secret\n", without=[KEYS]),
        hookline("connections", "set-secret", "--tenant", "sunny-solar", "--provider", "zoom", "--secret-stdin",
                 input="zoom-secret\n", without=[KEYS]),
        hookline("forms", "new-key", "--tenant", "sunny-solar", without=[KEYS]),
        hookline("credentials", "set", "--tenant", "sunny-solar", "--provider", "ghl", "--stdin",
                 input="pit-secret\n", without=[KEYS]),
        hookline("credentials", "reencrypt", without=[KEYS]),
    ]

    assert [done.returncode for done in refused] == [1] * len(refused)
    assert all(REFUSAL in done.stderr for done in refused), [done.stderr for done in refused]
    assert stored("SELECT provider FROM connections ORDER BY id") == [("ghl",)]  # the tenant's own, from `tenant`
    assert stored("SELECT kind FROM connection_tokens") == []


def test_commands_that_touch_no_credential_run_without_the_keys(tenant):
    done = hookline("tenants", "list", without=[KEYS])

    assert done.returncode == 0, done.stderr
    assert "sunny-solar" in done.stdout
