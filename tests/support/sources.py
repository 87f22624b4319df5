"""A real loopback HTTP server that plays a recording source (Zoom's download_url, a GHL attachment).

Files are generated on the fly, 1 MiB at a time, so a 500 MB recording costs no memory or disk.
A route can demand a bearer token, answer a few error statuses first, or stop half-way and hold
the connection open until the test releases it (to kill a worker mid-upload).
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BLOCK = 1024 * 1024


def generated(size: int, seed: int = 1) -> Iterator[bytes]:
    """`size` deterministic bytes in 1 MiB blocks; each block starts with its number, so no two are alike."""
    base = random.Random(seed).randbytes(BLOCK)
    for number, start in enumerate(range(0, size, BLOCK)):
        block = number.to_bytes(8, "big") + base[8:]
        yield block[: min(BLOCK, size - start)]


def sha256_of(size: int, seed: int = 1) -> str:
    digest = hashlib.sha256()
    for block in generated(size, seed):
        digest.update(block)
    return digest.hexdigest()


@dataclass
class Route:
    size: int
    seed: int = 1
    token: str | None = None  # a request without `Authorization: Bearer <token>` gets 401
    content_type: str = "audio/mp4"
    statuses: list[int] = field(default_factory=list)  # answered first, one per request
    hold_after: int | None = None  # the first full answer stops after this many bytes until `release`
    release: threading.Event = field(default_factory=threading.Event)
    requests: int = 0
    sent: int = 0  # body bytes written, over all requests


class RecordingSource:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        source = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                source._serve(self)

            def log_message(self, *args) -> None:  # quiet: the tests read state, not logs
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> RecordingSource:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        for route in self.routes.values():
            route.release.set()
        self.server.shutdown()
        self.server.server_close()

    def add(self, path: str, size: int, **options) -> str:
        self.routes[path] = Route(size, **options)
        return f"{self.url}{path}"

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        route = self.routes.get(request.path)
        if route is None:
            request.send_error(404)
            return
        route.requests += 1
        if route.token and request.headers.get("Authorization") != f"Bearer {route.token}":
            request.send_error(401)
            return
        if route.statuses:
            request.send_error(route.statuses.pop(0))
            return
        request.send_response(200)
        request.send_header("Content-Type", route.content_type)
        request.send_header("Content-Length", str(route.size))
        request.end_headers()
        hold, route.hold_after = route.hold_after, None
        sent = 0
        try:
            for block in generated(route.size, route.seed):
                if hold is not None and sent + len(block) > hold:
                    route.release.wait()
                    return  # hang up: the body is cut short, as when a worker is killed mid-download
                request.wfile.write(block)
                sent += len(block)
                route.sent += len(block)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client went away (a killed worker)
