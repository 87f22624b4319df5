"""One embedded PostgreSQL and one embedded Redis per ./var, whoever starts first.

`hookline dev` and every other `hookline` command in another terminal attach to the same servers;
the last of them to exit stops them, and their data stays under ./var.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
import redis
from celery import Celery

from hookline.scheduler.beat import current_leader
from hookline.workers.routing import QUEUES
from tests.support.cli import HOOKLINE
from tests.support.ingress import BIN
from tests.support.processes import running, wait_for

EMBEDDED = ("HOOKLINE_DATABASE_URL", "HOOKLINE_BROKER_URL", "HOOKLINE_REDIS_URL", "HOOKLINE_SECRET_KEYS",
            "HOOKLINE_VAR_DIR")
ROOT = str(Path(__file__).parents[1])


def embedded_env(**extra: str) -> dict[str, str]:
    """The test process's environment with no URLs: every command uses the embedded servers under ./var."""
    env = {name: value for name, value in os.environ.items() if name not in EMBEDDED}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
    return {**env, **extra}


@contextmanager
def checkout() -> Iterator[Path]:
    """A working directory for ./var outside pytest's temp root: another pytest session starting on this
    machine makes that root 0700 again, and PostgreSQL (run as the `pgserver` user under root) then
    cannot reach its data."""
    path = Path(tempfile.mkdtemp(prefix="hookline-embedded-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def hookline_in(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """`hookline …` run from `cwd`, as in another terminal of the same checkout."""
    return subprocess.run([HOOKLINE, *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=embedded_env())


def redis_servers(var: Path) -> list[psutil.Process]:
    """redis-server processes serving var/redis (its process title names the socket)."""
    socket_path = str(var / "redis" / "redis.socket")
    return [proc for proc in psutil.process_iter(["name", "cmdline"])
            if proc.info["name"] == "redis-server" and socket_path in " ".join(proc.info["cmdline"] or ())]


def postmasters(var: Path) -> list[psutil.Process]:
    """PostgreSQL postmasters on var/postgres (their children's titles name no data directory)."""
    data = f"-D {var / 'postgres'}"
    return [proc for proc in psutil.process_iter(["name", "cmdline"])
            if proc.info["name"] == "postgres" and data in " ".join(proc.info["cmdline"] or ())]


def broker(var: Path) -> Celery:
    return Celery(broker=f"redis+socket://{var / 'redis' / 'redis.socket'}")


def depths(var: Path) -> dict[str, int]:
    """LLEN of every queue's list in the embedded Redis."""
    with redis.Redis(unix_socket_path=str(var / "redis" / "redis.socket")) as client:
        return {queue: client.llen(queue) for queue in QUEUES}


def answers(client: Celery, name: str) -> bool:
    return any(name in answer for answer in client.control.ping(destination=[name], timeout=1))


def celery_ping(var: Path, name: str) -> subprocess.CompletedProcess:
    """Celery's own CLI against the embedded broker."""
    return subprocess.run([str(BIN / "celery"), "-A", "hookline.workers.app", "inspect", "ping", "-d", name],
                          capture_output=True, text=True, timeout=60, cwd=var.parent,
                          env=embedded_env(HOOKLINE_BROKER_URL=f"redis+socket://{var / 'redis' / 'redis.socket'}"))


def start_dev(cwd: Path, node: str, log: str, *, beat: bool):
    procfile = cwd / f"Procfile.{node}"
    procfile.write_text(f"worker: celery -A hookline.workers.app worker -n {node}@%h -Q maintenance --concurrency 1"
                        " --without-mingle --without-gossip --loglevel INFO\n"
                        + ("beat: celery -A hookline.workers.app beat --loglevel INFO\n" if beat else ""))
    return running([str(BIN / "hookline"), "dev", "--procfile", str(procfile)], log=cwd / log,
                   env=embedded_env(), cwd=cwd, without=EMBEDDED)


@pytest.fixture(scope="module")
def dev():
    """A running `hookline dev` (one worker, beat) in a checkout of its own: (working directory, worker name)."""
    node = f"embedded-{uuid.uuid4().hex[:8]}"
    name = f"{node}@{socket.gethostname()}"
    with checkout() as cwd, start_dev(cwd, node, "dev.log", beat=True) as process:
        client = broker(cwd / "var")
        wait_for(lambda: process.poll() is not None or ((cwd / "var/redis/redis.socket").exists()
                                                        and answers(client, name)),
                 timeout=180, what="hookline dev's worker")
        assert process.poll() is None, (cwd / "dev.log").read_text()
        yield cwd, name
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C
        process.wait(timeout=60)
        wait_for(lambda: not redis_servers(cwd / "var") and not postmasters(cwd / "var"), timeout=60,
                 what="the last user, hookline dev, to stop the servers")


def test_commands_in_other_terminals_share_dev_servers_and_leave_its_queues_alone(dev):
    cwd, name = dev
    var = cwd / "var"
    client = broker(var)
    for queue, count in (("reports", 3), ("email", 2)):  # no worker of this dev consumes these
        for _ in range(count):
            client.send_task("tests.never_run", queue=queue)
    before = depths(var)
    assert (before["reports"], before["email"]) == (3, 2)
    assert (len(redis_servers(var)), len(postmasters(var))) == (1, 1)

    runs = [hookline_in(cwd, *command) for _ in range(3)
            for command in (("status",), ("events", "list"), ("tenants", "list"))]

    assert [run.returncode for run in runs] == [0] * 9, [run.stdout + run.stderr for run in runs]
    assert (len(redis_servers(var)), len(postmasters(var))) == (1, 1)
    after = depths(var)  # beat feeds maintenance and ghl_sync meanwhile; nothing takes from these two
    assert (after["reports"], after["email"]) == (3, 2)
    assert answers(client, name)
    ping = celery_ping(var, name)
    assert ping.returncode == 0 and name in ping.stdout and "1 node online." in ping.stdout, ping.stdout + ping.stderr


def test_status_under_dev_shows_its_queues_workers_and_beat_leader(dev):
    cwd, name = dev
    var = cwd / "var"
    broker(var).send_task("tests.never_run", queue="dunning")
    with redis.Redis(unix_socket_path=str(var / "redis" / "redis.socket")) as client:
        leader = wait_for(lambda: current_leader(client), timeout=60, what="beat to take the lock")
        expected = client.llen("dunning")
    # A connected GoHighLevel tenant: status warns unless the ingress can check its signatures, and
    # under dev it can, with the key `hookline dev` trusts.
    added = hookline_in(cwd, "tenants", "add", "Status Solar", "--ghl-location-id", "loc-status-1")
    assert added.returncode == 0, added.stdout + added.stderr

    result = hookline_in(cwd, "status")

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    [dunning] = [line.split() for line in lines if line.startswith("dunning ")]
    assert int(dunning[1]) == expected >= 1
    assert "workers: 1 answered the ping within 1 s" in lines and f"  {name}" in lines
    assert f"beat leader: {leader}" in lines
    assert not [line for line in lines if line.startswith("GoHighLevel webhooks")], result.stdout


def test_a_second_dev_attaches_to_the_servers_and_its_exit_leaves_them_running(dev):
    cwd, first = dev
    var = cwd / "var"
    client = broker(var)
    node = f"second-{uuid.uuid4().hex[:8]}"
    second = f"{node}@{socket.gethostname()}"
    with start_dev(cwd, node, "second.log", beat=False) as process:
        wait_for(lambda: process.poll() is not None or answers(client, second), timeout=180,
                 what="the second dev's worker")
        assert process.poll() is None, (cwd / "second.log").read_text()
        assert (len(redis_servers(var)), len(postmasters(var))) == (1, 1)
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)

    assert (len(redis_servers(var)), len(postmasters(var))) == (1, 1)
    assert answers(client, first)


HOLDER = """
import sys, time
from pathlib import Path
from hookline import embedded
embedded.postgres_url(Path(sys.argv[1]))
print(embedded.redis_url(Path(sys.argv[1])), flush=True)
time.sleep(600)
"""


@pytest.fixture()
def workdir():
    with checkout() as path:
        yield path


def test_a_command_with_no_dev_starts_the_servers_stops_them_at_exit_and_keeps_their_data(workdir):
    var = workdir / "var"
    made = [hookline_in(workdir, "db", "upgrade"), hookline_in(workdir, "tenants", "add", "Sunny Solar")]
    assert [run.returncode for run in made] == [0, 0], [run.stderr for run in made]
    assert not postmasters(var)

    # Another user of both servers, killed later without leaving.
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(var)], stdout=subprocess.PIPE, text=True,
                              env=embedded_env())
    try:
        assert holder.stdout.readline().startswith("redis+socket://")
        broker(var).send_task("tests.never_run", queue="reports")

        attached = hookline_in(workdir, "status")
        shared_env = hookline_in(workdir, "env")  # someone else uses the servers: they outlive it, no warning

        assert (len(redis_servers(var)), len(postmasters(var))) == (1, 1)  # the holder still uses them
    finally:
        holder.kill()
        holder.wait()
    left_behind = hookline_in(workdir, "status")  # the last live user: it stops both servers
    alone_env = hookline_in(workdir, "env")  # the only user: what it prints stops with it, and it says so
    assert "DATABASE_URL" in shared_env.stdout and "stop when this command exits" not in shared_env.stderr
    assert "DATABASE_URL" in alone_env.stdout and "stop when this command exits" in alone_env.stderr
    assert not redis_servers(var) and not postmasters(var)
    assert (var / "redis" / "redis.db").exists()

    restarted = hookline_in(workdir, "status")  # a new server, from var/redis/redis.db
    listed = hookline_in(workdir, "tenants", "list")

    for result in (attached, left_behind, restarted):
        assert result.returncode == 0, result.stdout + result.stderr
        assert [line.split()[:2] for line in result.stdout.splitlines() if line.startswith("reports ")] == \
            [["reports", "1"]]
    assert "sunny-solar" in listed.stdout, listed.stdout + listed.stderr
    assert not redis_servers(var) and not postmasters(var)
