"""Recording upload throughput and memory: Hookline's storage backends next to a plain copy of the same bytes.

    uv run python bench/audio.py [--size-mb 500] [--part-mb 8]

A loopback HTTP server generates the recording on the fly; moto's S3-compatible server runs in
its own process. Each row runs in a fresh process that streams the whole file once and reports
its own peak RSS above its size just before the transfer (clients built, nothing read yet).
Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/support/sources.py: the generating source server the tests use

import httpx  # noqa: E402

from tests.support.processes import free_port, wait_for  # noqa: E402
from tests.support.sources import RecordingSource  # noqa: E402

MODES = {
    "copy": "plain copy: httpx stream → file",
    "local": "hookline local storage (sha256, fsync, rename)",
    "s3": "hookline S3 multipart (moto server)",
}


def rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(f"{field}:"))


def child(mode: str, url: str, endpoint: str, part_mb: int) -> None:
    """One transfer in this process; prints JSON with seconds, bytes and peak RSS growth."""
    from hookline.integrations import download
    from hookline.integrations.storage.local import LocalStorage
    from hookline.integrations.storage.s3 import S3Storage
    from tests.support.s3 import S3Server

    with tempfile.TemporaryDirectory() as scratch:
        if mode == "s3":
            client = S3Server(endpoint).client()
            bucket = f"bench-{os.getpid()}"
            client.create_bucket(Bucket=bucket)
            storage = S3Storage(client, bucket, part_size=part_mb * 1024 * 1024)
        else:
            storage = LocalStorage(Path(scratch))
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # the high-water mark starts here
        baseline, started = rss_kib("VmRSS"), time.perf_counter()
        with download.stream(url, bearer=None, extension="m4a") as source:
            if mode == "copy":
                size = 0
                with open(Path(scratch) / "copy.m4a", "wb") as out:
                    for chunk in source.chunks:
                        size += out.write(chunk)
            else:
                size = storage.write("1/recordings/2026/01/1.m4a", source.chunks, content_type=source.content_type).size
        seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "bytes": size, "peak_kib": rss_kib("VmHWM") - baseline,
                      "baseline_kib": baseline, "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--part-mb", type=int, default=8)
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, args.endpoint, args.part_mb)
        return

    size = args.size_mb * 1000 * 1000
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _answers(endpoint), timeout=30, what="moto server")
        with RecordingSource() as source:
            print(f"{args.size_mb} MB recording, generated on the fly; S3 parts of {args.part_mb} MiB\n")
            print(f"{'':48} {'MB/s':>8} {'seconds':>8} {'peak RSS above start':>21}")
            for mode, label in MODES.items():
                url = source.add(f"/{mode}.m4a", size)
                result = json.loads(subprocess.run(
                    [sys.executable, __file__, "--child", mode, "--url", url, "--endpoint", endpoint,
                     "--part-mb", str(args.part_mb)], check=True, capture_output=True, text=True, cwd=ROOT,
                ).stdout.strip().splitlines()[-1])
                if result["bytes"] != size:
                    sys.exit(f"{label}: moved {result['bytes']} bytes of {size}")
                print(f"{label:48} {size / 1e6 / result['seconds']:8.1f} {result['seconds']:8.1f} "
                      f"{result['peak_kib'] / 1024:17.1f} MiB")
    finally:
        moto.terminate()
        moto.wait(timeout=10)


def _answers(endpoint: str) -> bool:
    try:
        return httpx.get(endpoint, timeout=1).status_code < 500
    except httpx.TransportError:
        return False


if __name__ == "__main__":
    main()
