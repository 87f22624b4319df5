"""`hookline celery …` and `hookline env`: Celery's own CLI reaches a real worker through the stack's broker."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import DATABASE_URL, REDIS_URL
from tests.support.cli import HOOKLINE, environment, hookline
from tests.support.ingress import BIN
from tests.support.workers import celery_worker

CELERY = str(BIN / "celery")
URLS = ["HOOKLINE_DATABASE_URL", "HOOKLINE_BROKER_URL"]


@pytest.fixture(scope="module")
def worker(database, tmp_path_factory) -> str:
    with celery_worker(tmp_path_factory.mktemp("worker") / "worker.log", queues="reports",
                       HOOKLINE_BROKER_URL=REDIS_URL) as name:
        yield name


def test_the_passthrough_reaches_a_running_worker(worker):
    result = hookline("celery", "inspect", "ping", "-d", worker, "--timeout", "5")

    assert result.returncode == 0, result.stderr
    assert f"->  {worker}: OK" in result.stdout


def test_the_passthrough_keeps_celerys_exit_code_and_message():
    args = ["inspect", "ping", "-d", "nobody@nowhere", "--timeout", "0.5"]
    ours = hookline("celery", *args)
    theirs = subprocess.run([CELERY, "-A", "hookline.workers.app", *args], capture_output=True, text=True,
                            timeout=60, env=environment())

    assert theirs.returncode != 0
    assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout)
    assert "No nodes replied" in ours.stderr


def test_celery_help_says_what_it_does_and_celerys_own_help_passes_through():
    ours = hookline("celery", "--help")
    theirs = hookline("celery", "inspect", "--help")
    bare = hookline("celery")

    assert ours.returncode == 0 and "with this stack's broker" in ours.stdout
    assert theirs.returncode == 0 and "Usage: celery inspect" in theirs.stdout
    assert bare.returncode == 2 and "hookline celery inspect active" in bare.stderr


def test_the_env_lines_evaluated_in_a_shell_let_plain_celery_reach_the_worker(worker, tmp_path):
    # The stack is configured in a project's .env; celery runs elsewhere, where nothing configures it.
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    (project / ".env").write_text(f"HOOKLINE_BROKER_URL={REDIS_URL}\nHOOKLINE_DATABASE_URL={DATABASE_URL}\n")
    ping = f"{CELERY} -A hookline.workers.app inspect ping -d {worker} --timeout 5"

    def shell(script: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, cwd=elsewhere,
                              env=environment(without=URLS))

    printed = subprocess.run([HOOKLINE, "env"], capture_output=True, text=True, timeout=60, cwd=project,
                             env=environment(without=URLS))
    without = shell(ping)
    evaluated = shell(f'eval "$(cd {project} && {HOOKLINE} env)" && {ping}')

    assert f"export HOOKLINE_BROKER_URL={REDIS_URL}" in printed.stdout.splitlines()
    assert without.returncode != 0  # no broker configured here
    assert evaluated.returncode == 0, evaluated.stderr
    assert f"->  {worker}: OK" in evaluated.stdout
