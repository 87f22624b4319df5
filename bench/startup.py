"""How long `hookline dev` takes to accept a webhook, and to say it is ready: a first start and a second.

A first start has a fresh var directory (initdb, every migration); the second starts again on the
same one. For each, the time from launching `hookline dev` to the first 2xx for a signed
GoHighLevel ContactCreate, and to its ready line; its exit code after a Ctrl-C, and how many processes
on the var directory outlived it (killed then). The bench adds the tenant itself, as soon as the
database takes it, while the platform starts (on the second start it exists already).

    uv run python bench/startup.py                    # this checkout
    uv run python bench/startup.py --baseline main    # and a git revision's code, in the same run

With --baseline, the revision is checked out in a temporary git worktree and run by the same
interpreter with that worktree's `src` first on PYTHONPATH; the rounds alternate between the two.
It asserts nothing; see bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from signed import HEADER, TEMPLATE  # bench/ is this script's folder, so its siblings import by name

ROOT = Path(__file__).resolve().parents[1]
HOOKLINE = str(Path(sys.executable).parent / "hookline")
LOCATION = "loc-startup"
READY = re.compile(r"hookline dev: ready in ")
TIMEOUT = 180.0  # seconds a start may take before the bench gives up on it
READY_GRACE = 60.0  # seconds after the webhook to wait for a ready line (a revision from before it has none)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def signed_contact(key: ed25519.Ed25519PrivateKey) -> tuple[bytes, str]:
    data = {**TEMPLATE, "locationId": LOCATION, "webhookId": str(uuid.uuid4()), "id": f"ct-{uuid.uuid4().hex[:12]}",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()), "email": "ana@example.com"}
    body = json.dumps(data, separators=(",", ":")).encode()
    return body, base64.b64encode(key.sign(body)).decode()


def add_tenant_when_possible(var_dir: Path, stop: threading.Event) -> None:
    """Add the tenant as soon as the embedded database has the tables; the bench's own work, off the clock's path."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from hookline.services.tenants import TenantError, add_tenant

    engine = create_engine(f"postgresql+psycopg://hookline_app:@/hookline?host={var_dir / 'postgres'}",
                           connect_args={"connect_timeout": 2})
    try:
        while not stop.is_set():
            try:
                with Session(engine) as session, session.begin():
                    add_tenant(session, "Startup Solar", ghl_location_id=LOCATION)
                return
            except TenantError:  # a second start: it is there already
                return
            except Exception:  # noqa: BLE001 - not up, or not migrated yet: try again
                engine.dispose()
                stop.wait(0.2)
    finally:
        engine.dispose()  # no connection of ours may hold up the embedded server's stop


def one_start(home: Path, env: dict[str, str], key: ed25519.Ed25519PrivateKey, label: str) -> dict[str, float | None]:
    """Launch `hookline dev` in `home`, post until a 2xx, wait for the ready line, then Ctrl-C it."""
    log = home / f"dev-{label}.log"
    stop = threading.Event()
    adder = threading.Thread(target=add_tenant_when_possible, args=(home / "var", stop), daemon=True)
    url = f"http://127.0.0.1:{env['HOOKLINE_PORT']}/webhooks/ghl"
    figures: dict[str, float | None] = {"webhook": None, "ready": None, "exit": None, "left": None}
    with log.open("wb") as out:
        started = time.monotonic()
        dev = subprocess.Popen([HOOKLINE, "dev"], stdout=out, stderr=subprocess.STDOUT, cwd=home,
                               env={**_outside(), **env}, start_new_session=True)
        adder.start()
        try:
            with httpx.Client(timeout=2) as client:
                while figures["webhook"] is None and time.monotonic() - started < TIMEOUT and dev.poll() is None:
                    body, signature = signed_contact(key)
                    try:
                        answer = client.post(url, content=body, headers={HEADER: signature,
                                                                         "content-type": "application/json"})
                        if answer.is_success:
                            figures["webhook"] = time.monotonic() - started
                    except httpx.TransportError:
                        pass
                    time.sleep(0.05)
            until = min(started + TIMEOUT, time.monotonic() + READY_GRACE)
            while figures["ready"] is None and time.monotonic() < until and dev.poll() is None:
                if READY.search(log.read_text(errors="replace")):
                    figures["ready"] = time.monotonic() - started
                time.sleep(0.05)
        finally:
            stop.set()
            adder.join(10)
            if dev.poll() is None:
                os.killpg(dev.pid, signal.SIGINT)  # Ctrl-C
                try:
                    dev.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(dev.pid, signal.SIGKILL)
                    dev.wait()
            figures["exit"] = dev.returncode
            figures["left"] = len(stop_leftovers(home / "var"))
    return figures


def stop_leftovers(var_dir: Path) -> list[int]:
    """Processes still running on `var_dir` after `hookline dev` exited (an embedded server that outlived
    Ctrl-C): killed, so the next start begins as a user's would after a reboot, and counted."""
    time.sleep(2)  # what is stopping as dev exits
    left = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if str(var_dir) in command:
                os.kill(int(entry.name), signal.SIGKILL)
                left.append(int(entry.name))
        except (OSError, ProcessLookupError):  # gone meanwhile
            continue
    return left


def _outside() -> dict[str, str]:
    """This environment without HOOKLINE_*: the embedded default."""
    return {name: value for name, value in os.environ.items() if not name.startswith("HOOKLINE_")}


@contextmanager
def baseline_source(revision: str) -> Iterator[Path]:
    """`revision`'s src/ in a temporary git worktree, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="hookline-baseline-") as parent:
        tree = Path(parent) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), revision],
                       check=True)
        try:
            yield tree / "src"
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True)


def measure(name: str, source: Path | None, key: ed25519.Ed25519PrivateKey, public_pem: Path, rounds: int,
            results: list[tuple[str, str, dict]]) -> None:
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="hookline-startup-") as directory:
            home = Path(directory)
            env = {"HOOKLINE_VAR_DIR": str(home / "var"), "HOOKLINE_GHL_WEBHOOK_ED25519_PUBLIC_KEY": str(public_pem),
                   "HOOKLINE_PORT": str(free_port()), "HOOKLINE_FLOWER_PORT": str(free_port()),
                   "HOOKLINE_CONSOLE_PORT": str(free_port()), "HOOKLINE_METRICS_PORT": str(free_port())}
            if source is not None:
                env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), os.environ.get("PYTHONPATH")]))
            for start in ("first", "second"):
                figures = one_start(home, env, key, start)
                results.append((name, start, figures))
                print(f"{name:10} {start:6}  webhook {_s(figures['webhook'])}  ready {_s(figures['ready'])}"
                      f"  exit {figures['exit']}  left running {figures['left']}", flush=True)


def _s(seconds: float | None) -> str:
    return f"{seconds:5.1f} s" if seconds is not None else "    - "


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", help="a git revision to measure in the same run, e.g. main")
    parser.add_argument("--rounds", type=int, default=1, help="first+second starts per variant (default 1)")
    args = parser.parse_args()
    for name in [name for name in os.environ if name.startswith("HOOKLINE_")]:
        del os.environ[name]  # the embedded default, as a newcomer has it
    import hookline.services.tenants  # noqa: F401 - imported before any clock runs

    key = ed25519.Ed25519PrivateKey.generate()
    with tempfile.TemporaryDirectory(prefix="hookline-startup-key-") as keys:
        public_pem = Path(keys) / "ghl.pub"
        public_pem.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                              serialization.PublicFormat.SubjectPublicKeyInfo))
        results: list[tuple[str, str, dict]] = []
        print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start", flush=True)
        if args.baseline:
            with baseline_source(args.baseline) as source:
                for _ in range(args.rounds):
                    measure(args.baseline, source, key, public_pem, 1, results)
                    measure("this", None, key, public_pem, 1, results)
        else:
            measure("this", None, key, public_pem, args.rounds, results)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    print("\nmedians (s)        webhook  ready")
    for name in dict.fromkeys(name for name, _, _ in results):
        for start in ("first", "second"):
            rows = [figures for n, s, figures in results if n == name and s == start]
            print(f"{name:10} {start:6}   {_s(_median([r['webhook'] for r in rows]))}  {_s(_median([r['ready'] for r in rows]))}")


def _median(values: list[float | None]) -> float | None:
    known = sorted(value for value in values if value is not None)
    return known[len(known) // 2] if known else None


if __name__ == "__main__":
    main()
