"""The two load generators: wrk at full speed, and a fixed-rate open-loop sender for latency at a set load."""

from __future__ import annotations

import asyncio
import resource
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

LUA_SCRIPT = Path(__file__).resolve().parent / "post_signed.lua"
WRK_MISSING = """wrk is not installed; the bench needs it as its load generator.
  Debian/Ubuntu: sudo apt-get install -y wrk      macOS: brew install wrk"""


@dataclass
class Run:
    """One load run's figures. Latencies in seconds; `accepted` counts 2xx answers only."""

    seconds: float
    statuses: Counter = field(default_factory=Counter)
    errors: int = 0  # connect/read/write errors and timeouts: no status at all
    p50: float = 0.0
    p99: float = 0.0
    max: float = 0.0
    next_index: int = 0  # first request entry the next run should use, so webhook ids stay unique
    generator_cpu: float = 0.0  # wrk's CPU time per second of run: near 1.0 per thread, wrk is the limit

    @property
    def accepted(self) -> int:
        return sum(count for status, count in self.statuses.items() if 200 <= status < 300)

    @property
    def rejected(self) -> int:
        return sum(self.statuses.values()) - self.accepted

    @property
    def accepted_per_second(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        sys.exit(WRK_MISSING)
    return path


def wrk(url: str, requests_file: Path, *, first: int, seconds: int, connections: int, threads: int) -> Run:
    """Closed-loop maximum throughput: `connections` keep-alive connections, each sending as fast as answered."""
    command = [require_wrk(), "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
               "-s", str(LUA_SCRIPT), url, "--", str(requests_file), str(first), str(threads)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((line for line in output.splitlines() if line.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result line:\n{output}")
    fields = dict(part.split("=", 1) for part in line.split()[1:])
    elapsed = int(fields["duration_us"]) / 1e6
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    statuses = Counter({int(status): int(count) for status, count in
                        (pair.split(":") for pair in fields["statuses"].split(",") if pair)})
    return Run(
        seconds=elapsed,
        statuses=statuses,
        errors=sum(int(fields[name]) for name in ("connect", "read", "write", "timeout")),
        p50=int(fields["p50_us"]) / 1e6,
        p99=int(fields["p99_us"]) / 1e6,
        max=int(fields["max_us"]) / 1e6,
        next_index=first + threads * int(fields["issued_per_thread"]),
        generator_cpu=cpu / elapsed,
    )


@dataclass
class FixedRun(Run):
    rate: float = 0.0
    lag_p99: float = 0.0  # how late this generator sent when free to: high means it, not the server, fell behind
    late_sends: int = 0  # requests sent after their time because their connection still awaited an answer
    unsent: int = 0  # requests still waiting for a free connection when the time was up


def _percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, int(fraction * len(values)))] if values else 0.0


def request_bytes(host: str, signature: str, body: bytes) -> bytes:
    head = (f"POST /webhooks/ghl HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nx-wh-signature: {signature}\r\n\r\n")
    return head.encode() + body


async def read_status(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next((int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")), 0)
    await reader.readexactly(length)
    return int(lines[0].split(" ", 2)[1])


async def _fixed_rate(host: str, port: int, items: list[tuple[str, bytes]], first: int, rate: float, seconds: float,
                      connections: int) -> FixedRun:
    loop = asyncio.get_running_loop()
    total = int(rate * seconds)
    start = loop.time() + 0.2
    latencies: list[float] = []
    lags: list[float] = []
    run = FixedRun(seconds=seconds, rate=rate, next_index=first + total)
    finished = start

    async def connection(lane: int) -> None:
        nonlocal finished
        reader = writer = None
        # Lane k sends requests k, k+connections, ... each at its own scheduled time (wrk2's model):
        # a late answer delays the next send, and that delay counts in the next request's latency.
        for number in range(lane, total, connections):
            due = start + number / rate
            if loop.time() > start + seconds:  # still catching up at the end: the server fell far behind
                backlog = range(number, total, connections)
                run.unsent += len(backlog)
                # Counted as answered now, a lower bound, so the percentiles do not hide them.
                latencies.extend(loop.time() - (start + late / rate) for late in backlog)
                break
            if loop.time() <= due:  # the lane is free in time: any lateness is this generator's own
                await asyncio.sleep(due - loop.time())
                lags.append(loop.time() - due)
            else:  # still waiting for the last answer: the server's delay, counted in this latency
                run.late_sends += 1
            signature, body = items[(first + number) % len(items)]
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                writer.write(request_bytes(f"{host}:{port}", signature, body))
                status = await asyncio.wait_for(read_status(reader), timeout=10)
            except (OSError, asyncio.IncompleteReadError, TimeoutError):
                run.errors += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            done = loop.time()
            latencies.append(done - due)  # from the scheduled send, not the actual one
            run.statuses[status] += 1
            finished = max(finished, done)
        if writer is not None:
            writer.close()

    await asyncio.gather(*(connection(lane) for lane in range(connections)))
    latencies.sort()
    lags.sort()
    run.seconds = max(finished - start, seconds)
    run.p50, run.p99 = _percentile(latencies, 0.50), _percentile(latencies, 0.99)
    run.max = latencies[-1] if latencies else 0.0
    run.lag_p99 = _percentile(lags, 0.99)
    return run


def fixed_rate(url_host: str, port: int, items: list[tuple[str, bytes]], *, first: int, rate: float, seconds: float,
               connections: int) -> FixedRun:
    """Open loop at `rate` requests/s for `seconds`; waits for every answer sent, so none is cut off."""
    return asyncio.run(_fixed_rate(url_host, port, items, first, rate, seconds, connections))
