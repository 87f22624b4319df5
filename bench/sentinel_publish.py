"""The ingress's fast publish path on one Redis primary, reached directly and through Sentinel, in one run.

    uv run python bench/sentinel_publish.py [--batches 400] [--jobs 80]

Starts a primary, a replica and three Sentinels (tests/support/sentinel.py) and publishes with the
ingress's own RedisSender (one MULTI/EXEC of LPUSHes and published bits per batch, messages from
TaskMessages) on two asyncio clients from hookline.redis_clients: one for redis://primary, one for
the sentinel:// URL. Batches alternate between the two, so the machine's load falls on both alike.
It prints wall time and this process's CPU per batch for each, and their ratio. No ingress, no
PostgreSQL: the publish path alone, which bench/ingress.py --sentinel measures inside the whole
ingress, where a loaded machine's noise is larger than the difference.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support.sentinel: the test suite's cluster
from tests.support.sentinel import MASTER, PASSWORD, sentinel_cluster


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--batches", type=int, default=400, help="batches through each client (400)")
    parser.add_argument("--jobs", type=int, default=80, help="events per batch (80: the ingress's mean at its max)")
    return parser.parse_args()


async def measure(senders: dict[str, object], batches: int, jobs: int) -> dict[str, tuple[float, float]]:
    """Per sender: (wall seconds, CPU seconds) spent over `batches` batches, interleaved with the others."""
    from hookline.transport.publisher import Job

    spent = {name: [0.0, 0.0] for name in senders}
    event_id = 0
    for number in range(batches + 1):
        for name, sender in senders.items():
            batch = [Job("hookline.tasks.ghl_sync.apply_event", 1, event_id + i, "ghl") for i in range(jobs)]
            event_id += jobs
            wall, cpu = time.perf_counter(), time.process_time()
            await sender.send(batch, ())
            if number:  # the first round opens the connections (and asks the Sentinels): not counted
                spent[name][0] += time.perf_counter() - wall
                spent[name][1] += time.process_time() - cpu
    return {name: (wall, cpu) for name, (wall, cpu) in spent.items()}


def main() -> None:
    args = parse_args()
    with sentinel_cluster(Path(tempfile.mkdtemp(prefix="hookline-bench-sentinel-"))) as cluster:
        direct = f"redis://:{PASSWORD}@127.0.0.1:{cluster.primary_port()}/1"
        os.environ.update(HOOKLINE_BROKER_URL=direct, HOOKLINE_REDIS_SENTINEL_MASTER=MASTER)
        from hookline.redis_clients import async_client
        from hookline.transport.messages import TaskMessages  # after the environment: settings are read once
        from hookline.transport.publisher import RedisSender
        from hookline.workers.app import app

        async def run() -> dict[str, tuple[float, float]]:
            messages = TaskMessages(app)
            clients = {"direct": async_client(direct, socket_timeout=2),
                       "sentinel": async_client(cluster.url(db=1), master=MASTER, socket_timeout=2)}
            try:
                senders = {name: RedisSender(client, messages) for name, client in clients.items()}
                return await measure(senders, args.batches, args.jobs)
            finally:
                for client in clients.values():
                    await client.aclose()

        figures = asyncio.run(run())
        print(f"{args.batches} batches of {args.jobs} events through each client, interleaved")
        for name, (wall, cpu) in figures.items():
            print(f"  {name:8}  {wall / args.batches * 1e3:7.3f} ms wall per batch  "
                  f"{cpu / args.batches * 1e3:7.3f} ms CPU per batch  "
                  f"{args.batches * args.jobs / wall:9.0f} events/s")
        (direct_wall, direct_cpu), (sentinel_wall, sentinel_cpu) = figures["direct"], figures["sentinel"]
        print(f"sentinel / direct: wall {sentinel_wall / direct_wall:.2f}x, CPU {sentinel_cpu / direct_cpu:.2f}x")


if __name__ == "__main__":
    main()
