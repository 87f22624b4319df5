"""A RabbitMQ vhost of a test module's own on the machine's RabbitMQ (others test on the same server)."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager


def rabbitmqctl(*args: str) -> str:
    return subprocess.run(["rabbitmqctl", "--quiet", *args], check=True, capture_output=True, text=True,
                          timeout=120).stdout


@contextmanager
def rabbitmq_vhost() -> Iterator[str]:
    """A new vhost the guest user may use; deleted (with its queues) at the end."""
    name = f"hookline_test_{uuid.uuid4().hex[:10]}"
    rabbitmqctl("add_vhost", name)
    try:
        rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield name
    finally:
        rabbitmqctl("delete_vhost", name)


def amqp_url(vhost: str) -> str:
    return f"amqp://guest:guest@127.0.0.1:5672/{vhost}"


def queues(vhost: str) -> dict[str, dict]:
    """Every queue of `vhost`: its type and how many messages it holds."""
    rows = json.loads(rabbitmqctl("list_queues", "-p", vhost, "name", "type", "messages", "--formatter", "json"))
    return {row["name"]: row for row in rows}
