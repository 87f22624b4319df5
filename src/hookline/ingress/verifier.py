"""GoHighLevel's signature checks in a child process of the ingress, beside its event loop.

An Ed25519 check costs ~50-110 µs of CPU (an RSA-4096 one, the legacy scheme, ~80 µs), a quarter
of all the ingress spends on a webhook or more, and the event loop's one core is the ingress's
limit. The verifier process runs `ghl.verify.verify` on another core: the event loop writes each
check as a frame on a socket pair (everything asked in one pass of the loop goes out in one
write), the child answers in order, and each answer resolves its request's future. `cryptography`
releases the GIL, but a thread gave nothing: each check then waited for the busy loop to hand the
GIL back (bench/README.md).

The child pays only when the loop is behind. Waking it costs the loop a write, often the loss of
its own core to the child for a while, and the check a round trip: more than the ~70 µs it saves
when the loop has time to spare (at 1,600 webhooks/s, p99 17-27 ms this way against 34-60 ms
sending every check). So the checks asked in one pass of the loop go to the child when there are
at least MIN_BATCH (requests piled up while the loop was busy); fewer are checked in the loop.
MIN_BATCH was 2 until 2026-12-02: at 1,200 webhooks/s passes of 2-3 checks were common enough
that the child's wake-ups kept the loop behind (p99 19, 38, 31 ms in three rounds, against 6, 8
and 18 ms with 4), while at the maximum, passes of dozens, 4 changed nothing (bench/README.md).

Nothing depends on the child being there: while it is not (not started yet, died, or too far
behind), checks run in the event loop as before, and a lost child is started again.

Frames, parent to child: the keys once (`!HH` lengths, Ed25519 PEM, RSA PEM; either may be empty),
then per check `!HHI` lengths and the `x-ghl-signature` header, the `x-wh-signature` header and the
body. Child to parent, per check: `!H` length and the scheme that verified, "!" and the reason it
was refused, or "?" when the check failed in a way a signature does not (a bug): the parent then
makes that check itself, so the request gets the ingress's answer to an unexpected error, and the
child lives on. A check reads only the raw bytes (ghl/verify.py), so no body can cost it more.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import struct
import sys
from collections import deque
from collections.abc import Mapping

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from hookline.integrations.errors import InvalidSignature
from hookline.integrations.ghl.keys import pem
from hookline.integrations.ghl.verify import ED25519_HEADER, RSA_HEADER, verify

log = structlog.get_logger(__name__)

CHECK = struct.Struct("!HHI")
KEYS = struct.Struct("!HH")
ANSWER = struct.Struct("!H")
# More checks than this waiting for the child: it is not keeping up, so the event loop checks too.
MAX_PENDING = 256
# Checks asked in one pass of the event loop for the child to be worth waking (the module's docstring).
MIN_BATCH = 4
MAX_HEADER = 0xFFFF  # a frame's header length field
# A lost child is started again after this, doubled while children die before answering anything.
RESTART_SECONDS = 1.0
MAX_RESTART_SECONDS = 60.0


class Verifier:
    """`verify` (ghl/verify.py) for the event loop: in the child process when it is up, else inline."""

    def __init__(self, ed25519_key: Ed25519PublicKey | None, rsa_key: RSAPublicKey | None = None) -> None:
        self.ed25519_key, self.rsa_key = ed25519_key, rsa_key
        self._process: asyncio.subprocess.Process | None = None
        self._transport: asyncio.Transport | None = None
        self._pending: deque[asyncio.Future[str | None]] = deque()
        self._asked: list[tuple[asyncio.Future[str | None], bytes, bytes, bytes, bytes]] = []
        self._closing = False
        self._restart_in = RESTART_SECONDS
        self._restarting: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._transport is not None

    async def start(self) -> None:
        """Start the child; a failure to start leaves the checks in the event loop (and is logged)."""
        parent, child = socket.socketpair()
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "hookline.ingress.verifier", str(child.fileno()), pass_fds=[child.fileno()])
            loop = asyncio.get_running_loop()
            self._transport, _ = await loop.create_unix_connection(lambda: _Answers(self), sock=parent)
        except OSError as exc:
            parent.close()
            log.warning("ingress.verifier.start_failed", error=repr(exc))
            return
        finally:
            child.close()
        self._transport.write(KEYS.pack(*map(len, keys := self._pems())) + b"".join(keys))
        log.info("ingress.verifier.started", pid=self._process.pid)

    async def close(self) -> None:
        self._closing = True
        if self._transport is not None:
            self._transport.close()  # the child reads the end of its input and exits
        if self._process is not None:
            try:
                await asyncio.wait_for(self._process.wait(), 5)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()

    async def verify(self, body: bytes, headers: Mapping[str, str]) -> str:
        """The scheme that verified ("ed25519" or "rsa"); InvalidSignature otherwise."""
        ed_signature = headers.get(ED25519_HEADER, "").encode("latin-1")
        rsa_signature = headers.get(RSA_HEADER, "").encode("latin-1")
        if (self._transport is None or len(self._pending) >= MAX_PENDING
                or max(len(ed_signature), len(rsa_signature)) > MAX_HEADER):  # no frame holds it: refused here
            return self._inline(body, headers)
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if not self._asked:  # the first check of this pass of the loop: decide for all of them after it
            loop.call_soon(self._flush)
        self._asked.append((future, CHECK.pack(len(ed_signature), len(rsa_signature), len(body)), ed_signature,
                            rsa_signature, body))
        try:
            answer = await future
        except ConnectionError:  # the child went away with this check
            answer = None
        if answer is None or answer.startswith("?"):  # checked here, in the event loop
            return self._inline(body, headers)
        if answer.startswith("!"):
            raise InvalidSignature(answer[1:])
        return answer

    def _inline(self, body: bytes, headers: Mapping[str, str]) -> str:
        return verify(body, headers, ed25519_key=self.ed25519_key, rsa_key=self.rsa_key)

    def _flush(self) -> None:
        """The checks asked during the last pass of the loop: to the child when there are several, else back
        to their requests, which check them in the loop (None)."""
        asked, self._asked = self._asked, []
        if self._transport is None or len(asked) < MIN_BATCH:
            for future, *_ in asked:
                if not future.done():
                    future.set_result(None)
            return
        frames = []
        for future, *frame in asked:
            self._pending.append(future)
            frames += frame
        self._transport.write(b"".join(frames))

    def _answered(self, answer: str) -> None:
        self._restart_in = RESTART_SECONDS  # this child works
        future = self._pending.popleft()
        if not future.done():  # its request may be gone (the client hung up)
            future.set_result(answer)

    def _lost(self, exc: Exception | None) -> None:
        self._transport = None
        while self._pending:
            future = self._pending.popleft()
            if not future.done():
                future.set_exception(ConnectionError("the verifier process went away"))
        if not self._closing:
            log.error("ingress.verifier.lost", error=repr(exc), restart_in=self._restart_in)
            asyncio.get_running_loop().call_later(self._restart_in, self._restart)
            self._restart_in = min(MAX_RESTART_SECONDS, self._restart_in * 2)

    def _restart(self) -> None:
        if not self._closing:
            self._restarting = asyncio.get_running_loop().create_task(self.start())

    def _pems(self) -> tuple[bytes, bytes]:
        ed = pem(self.ed25519_key).encode() if self.ed25519_key is not None else b""
        rsa = pem(self.rsa_key).encode() if self.rsa_key is not None else b""
        return ed, rsa


class _Answers(asyncio.Protocol):
    def __init__(self, verifier: Verifier) -> None:
        self.verifier, self.buffer = verifier, bytearray()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        start = 0
        while len(self.buffer) - start >= ANSWER.size:
            (length,) = ANSWER.unpack_from(self.buffer, start)
            end = start + ANSWER.size + length
            if end > len(self.buffer):
                break
            self.verifier._answered(self.buffer[start + ANSWER.size:end].decode())  # noqa: SLF001 - the verifier's own protocol
            start = end
        del self.buffer[:start]

    def connection_lost(self, exc: Exception | None) -> None:
        self.verifier._lost(exc)  # noqa: SLF001


def _read_exactly(sock: socket.socket, buffer: bytearray, size: int) -> bool:
    """Fill `buffer` up to `size` bytes from `sock`; False at the end of its input."""
    while len(buffer) < size:
        chunk = sock.recv(max(65536, size - len(buffer)))
        if not chunk:
            return False
        buffer += chunk
    return True


def serve(sock: socket.socket) -> None:
    """The child: the keys, then check after check, answering in order until the parent closes."""
    buffer = bytearray()
    if not _read_exactly(sock, buffer, KEYS.size):
        return
    ed_length, rsa_length = KEYS.unpack_from(buffer)
    if not _read_exactly(sock, buffer, KEYS.size + ed_length + rsa_length):
        return
    ed_pem = bytes(buffer[KEYS.size:KEYS.size + ed_length])
    rsa_pem = bytes(buffer[KEYS.size + ed_length:KEYS.size + ed_length + rsa_length])
    ed25519_key, rsa_key = (load_pem_public_key(key) if key else None for key in (ed_pem, rsa_pem))
    del buffer[:KEYS.size + ed_length + rsa_length]
    while True:
        answers, start = [], 0
        while len(buffer) - start >= CHECK.size:
            ed_size, rsa_size, body_size = CHECK.unpack_from(buffer, start)
            end = start + CHECK.size + ed_size + rsa_size + body_size
            if end > len(buffer):
                break
            at = start + CHECK.size
            headers = {ED25519_HEADER: buffer[at:at + ed_size].decode("latin-1"),
                       RSA_HEADER: buffer[at + ed_size:at + ed_size + rsa_size].decode("latin-1")}
            body = bytes(buffer[at + ed_size + rsa_size:end])
            try:
                given = {name: value for name, value in headers.items() if value}
                answer = verify(body, given, ed25519_key=ed25519_key, rsa_key=rsa_key)  # type: ignore[arg-type]
            except InvalidSignature as exc:
                answer = "!" + exc.reason
            except Exception as exc:  # noqa: BLE001 - one check's bug must not end every later one
                print(f"ingress.verifier.check_failed {exc!r}", file=sys.stderr, flush=True)
                answer = "?"
            encoded = answer.encode()
            answers.append(ANSWER.pack(len(encoded)) + encoded)
            start = end
        del buffer[:start]
        if answers:
            sock.sendall(b"".join(answers))
        chunk = sock.recv(1 << 20)
        if not chunk:
            return
        buffer += chunk


if __name__ == "__main__":
    # Ctrl-C in a terminal reaches the whole process group, and `hookline dev` (honcho) stops the ingress
    # with a SIGTERM to its group: the child ends when the ingress closes its socket, not before it (which
    # the ingress would log as a lost verifier).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    serve(socket.socket(fileno=int(sys.argv[1])))
