"""A real PgBouncer (the Debian package's) in transaction mode, in front of the test PostgreSQL."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.support.processes import free_port, running, wait_for

BINARY = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"  # Debian puts it in sbin, off a user's PATH


def _answers(address: str, user: str) -> bool:
    try:
        with psycopg.connect(f"postgresql://{user}@{address}/postgres", connect_timeout=1) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)
    except psycopg.OperationalError:
        return False


@contextmanager
def pgbouncer(log: Path, *, server: str = "127.0.0.1:5432", pool_size: int = 6,
              users: tuple[str, ...] = ("postgres",)) -> Iterator[str]:
    """Yield `127.0.0.1:<port>`, where PgBouncer pools every database of `server` for `users`.

    Transaction mode: a server connection is a client's only for one transaction, then another
    client's, so whatever a client leaves in its session (a SET, a prepared statement) turns up in
    someone else's. A few server connections per database and user make that happen quickly.
    Nothing is ignored at startup: a client sending `options` is refused, as in production.
    """
    host, port = server.rsplit(":", 1)
    listen = free_port()
    # PgBouncer will not run as root; it reads its files before it drops to `nobody`.
    directory = Path(tempfile.mkdtemp(prefix="hookline-pgbouncer-"))
    try:
        directory.chmod(0o755)
        (directory / "users.txt").write_text("".join(f'"{user}" ""\n' for user in users))
        (directory / "pgbouncer.ini").write_text(f"""\
[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen}
unix_socket_dir =
auth_type = trust
auth_file = {directory / "users.txt"}
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 500
; a client waiting this long for a server connection gets an error, not a hang
query_wait_timeout = 30
""")
        command = [BINARY, *(["-u", "nobody"] if os.geteuid() == 0 else []), str(directory / "pgbouncer.ini")]
        with running(command, log=log) as process:
            address = f"127.0.0.1:{listen}"
            wait_for(lambda: _answers(address, users[0]) or process.poll() is not None, timeout=30, what=f"pgbouncer on {address}")
            assert process.poll() is None, log.read_text()
            yield address
    finally:
        shutil.rmtree(directory, ignore_errors=True)
