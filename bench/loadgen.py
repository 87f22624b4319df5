"""The two loads, both from wrk: full speed (closed loop), and a fixed rate (open loop) for latency at a set load."""

from __future__ import annotations

import asyncio
import math
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from signed import HEADER  # bench/ is this script's folder, so its siblings import by name

LUA_SCRIPT = Path(__file__).resolve().parent / "post_signed.lua"
FIXED_RATE_SCRIPT = Path(__file__).resolve().parent / "fixed_rate.lua"
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
    fields, cpu = _run_wrk(command)
    elapsed = int(fields["duration_us"]) / 1e6
    return Run(
        seconds=elapsed,
        statuses=_statuses(fields),
        errors=sum(int(fields[name]) for name in ("connect", "read", "write", "timeout")),
        p50=int(fields["p50_us"]) / 1e6,
        p99=int(fields["p99_us"]) / 1e6,
        max=int(fields["max_us"]) / 1e6,
        next_index=first + threads * int(fields["issued_per_thread"]),
        generator_cpu=cpu / elapsed,
    )


def _run_wrk(command: list[str]) -> tuple[dict[str, str], float]:
    """wrk's `BENCH key=value …` line (the scripts print one) and the CPU seconds wrk used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((line for line in output.splitlines() if line.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result line:\n{output}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return dict(part.split("=", 1) for part in line.split()[1:]), cpu


def _statuses(fields: dict[str, str]) -> Counter:
    return Counter({int(status): int(count) for status, count in
                    (pair.split(":") for pair in fields["statuses"].split(",") if pair)})


@dataclass
class FixedRun(Run):
    rate: float = 0.0
    lag_p99: float = 0.0  # how late this generator sent when free to: high means it, not the server, fell behind
    late_sends: int = 0  # requests sent after their time because their connection still awaited an answer
    unsent: int = 0  # requests still waiting for a free connection when the time was up


def request_bytes(host: str, signature: str, body: bytes) -> bytes:
    head = (f"POST /webhooks/ghl HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{HEADER}: {signature}\r\n\r\n")
    return head.encode() + body


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One HTTP/1.1 answer on a keep-alive connection: its status and body."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next((int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")), 0)
    return int(lines[0].split(" ", 2)[1]), await reader.readexactly(length)


async def read_status(reader: asyncio.StreamReader) -> int:
    return (await read_answer(reader))[0]


def fixed_rate(url: str, items: list[tuple[str, bytes]], *, first: int, rate: float, seconds: float,
               connections: int) -> FixedRun:
    """Open loop at `rate` requests/s for `seconds` through wrk (bench/fixed_rate.lua), one lane a connection,
    each with its own wrk thread; a request's latency counts from its scheduled time."""
    total = int(rate * seconds)
    with tempfile.TemporaryDirectory(prefix="hookline-lanes-") as folder:
        for lane in range(connections):  # lane k holds requests k, k+connections, ... of this run
            with open(Path(folder) / f"lane-{lane}.txt", "wb") as out:
                for number in range(lane, total, connections):
                    signature, body = items[(first + number) % len(items)]
                    out.write(signature.encode() + b"\t" + body + b"\n")
        start = time.monotonic() + 1.0 + connections * 0.01  # wrk starts its threads and reads the lanes first
        command = [require_wrk(), "-t", str(connections), "-c", str(connections),
                   "-d", f"{math.ceil(start - time.monotonic() + seconds) + 2}s", "--timeout", "10s",
                   "-s", str(FIXED_RATE_SCRIPT), url, "--", folder, str(connections), f"{start * 1e6:.0f}",
                   repr(rate), repr(seconds)]
        fields, cpu = _run_wrk(command)
    run = FixedRun(seconds=max(seconds, int(fields["last_answer_us"]) / 1e6), rate=rate, next_index=first + total,
                   statuses=_statuses(fields), p50=int(fields["p50_us"]) / 1e6, p99=int(fields["p99_us"]) / 1e6,
                   max=int(fields["max_us"]) / 1e6, lag_p99=int(fields["lag_p99_us"]) / 1e6,
                   late_sends=int(fields["late"]), unsent=int(fields["unsent"]) + int(fields["cut_off"]),
                   errors=sum(int(fields[name]) for name in ("connect", "read", "write", "timeout")))
    run.generator_cpu = cpu / run.seconds
    return run
