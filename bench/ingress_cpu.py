"""The real ingress's CPU per webhook, in process: no HTTP, no load generator, no other server.

`bench/ingress.py` measures requests/s over HTTP, where wrk, PostgreSQL and the server share two
cores and one run differs from the next by ±10%. This drives `create_app` directly as an ASGI
app on uvloop, with `--concurrency` requests in flight (each a signed GoHighLevel
ContactCreate, as in `bench/ingress.py`), against real PostgreSQL and Redis, and prints the
process's CPU per webhook: a steadier figure for comparing two versions of the code in one
sitting. Run it a few times; uvicorn's HTTP parsing is not in it.

    uv run python bench/ingress_cpu.py [--requests 6000] [--concurrency 64] [--runs 3] [--profile]

It uses what `bench/ingress.py` uses (a new database, Redis db 14, the cached signed webhooks)
and cleans up the same way. `--profile` prints cProfile's top functions of the last run
(cProfile's own cost inflates small functions: read it for where, not how much).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import tempfile
import time
import traceback
from pathlib import Path
from typing import TextIO

from starlette.types import ASGIApp

import ingress as bench  # bench/ is this script's folder, so its siblings import by name
from signed import HEADER, signed_requests


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=positive, default=6000, help="webhooks per measured run (6000)")
    parser.add_argument("--concurrency", type=positive, default=64, help="requests in flight (64)")
    parser.add_argument("--runs", type=positive, default=3, help="measured runs, each after the last (3)")
    parser.add_argument("--signed", type=int, default=60_000,
                        help="distinct signed webhooks to draw from (60000; signed once and cached, as bench/ingress.py does)")
    parser.add_argument("--profile", action="store_true", help="cProfile the last run; print the top 30")
    return parser.parse_args()


def scope(signature: str, body: bytes) -> dict:
    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode()), (HEADER.encode(), signature.encode())]
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": "/webhooks/ghl", "raw_path": b"/webhooks/ghl", "query_string": b"", "root_path": "",
            "headers": headers, "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000), "state": {}}


async def deliver(app: ASGIApp, signature: str, body: bytes, statuses: dict[int, int]) -> None:
    received = False

    async def receive() -> dict:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # a client that stays connected until the answer

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            statuses[message["status"]] = statuses.get(message["status"], 0) + 1

    await app(scope(signature, body), receive, send)


async def measure(args: argparse.Namespace, items: list[tuple[str, bytes]], out: TextIO) -> None:
    from hookline.ingress.app import create_app  # after the environment: settings are read once

    app = create_app()
    per_client = args.requests // args.concurrency
    queue = iter(items)

    async def run(count: int, statuses: dict[int, int]) -> None:
        async def client() -> None:
            for _ in range(count):
                await deliver(app, *next(queue), statuses)
        await asyncio.gather(*(client() for _ in range(args.concurrency)))

    async with app.router.lifespan_context(app):
        await run(20, {})  # warm-up: connections, caches, prepared statements
        for number in range(1, args.runs + 1):
            statuses: dict[int, int] = {}
            profile = cProfile.Profile() if args.profile and number == args.runs else None
            cpu, wall = time.process_time(), time.perf_counter()
            if profile:
                profile.enable()
            await run(per_client, statuses)
            if profile:
                profile.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            done = per_client * args.concurrency
            print(f"run {number}: {done} webhooks, {cpu / done * 1e6:.0f} µs of CPU each, {done / wall:.0f}/s, "
                  f"the process busy {cpu / wall:.0%} of the time, answers {statuses}", file=out)
        await asyncio.sleep(0.5)  # let the publisher finish its last batch before the lifespan ends
    if profile:
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(30)


def main() -> None:
    args = parse_args()
    needed = (args.requests // args.concurrency * args.runs + 20) * args.concurrency
    if needed > args.signed:
        raise SystemExit(f"{needed} webhooks needed, --signed is {args.signed}: each must be new to the inbox")
    signed = signed_requests(args.signed)
    broker = bench.own_broker_db()
    database, _ = bench.create_database()
    os.environ.update(bench.INGRESS_SETTINGS, HOOKLINE_GHL_WEBHOOK_ED25519_PUBLIC_KEY=signed.public_pem,
                      HOOKLINE_REPLAY_WINDOW_SECONDS=str(int(signed.age_seconds) + 3600))
    from hookline.config import get_settings

    get_settings.cache_clear()  # create_database read them before the key was set
    # The ingress logs a line per webhook to stderr, as in production: into a file; the figures to the terminal.
    terminal = os.fdopen(os.dup(1), "w", buffering=1)
    log_path = Path(tempfile.mkstemp(prefix="hookline-bench-cpu-", suffix=".log")[1])
    with log_path.open("w") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    print(f"database {database}, the ingress's log in {log_path}", file=terminal)
    try:
        import uvloop

        uvloop.run(measure(args, signed.load(), terminal))
    except BaseException:
        traceback.print_exc(file=terminal)  # stderr is the log file by now
        raise
    finally:
        broker.flushdb()
        bench.admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


if __name__ == "__main__":
    main()
