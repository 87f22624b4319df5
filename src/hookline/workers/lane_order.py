"""The order a worker asks Redis for its queues: main lanes before bulk lanes (transport/lanes.py).

kombu's Redis transport takes a worker's next message with one BRPOP over all its queues, which
pops from the first non-empty key; its default `round_robin` order moves the queue it just took
from to the back. So while a flood waited in `<queue>.bulk`, the quiet tenants' lane got every
other message, and a bulk message carries a batch of events where theirs carries one:
bench/fairness.py measured their p95 at 48 s during a flood against 1 s without.

`MainLanesFirst` keeps round robin inside each group but asks for the main lanes first, so a
quiet tenant's message waits only for what the worker already holds: with `worker_disable_prefetch`
(workers/app.py) that is the messages its processes run, none reserved behind them. So that a
busy main lane cannot starve the flood, the bulk lanes go first once every `BULK_EVERY` messages
while both have work. It is named in `broker_transport_options["queue_order_strategy"]`
(workers/app.py), which kombu resolves by import path; RabbitMQ ignores it (docs/decisions.md).
"""

from __future__ import annotations

from kombu.utils.scheduling import round_robin_cycle

from hookline.workers.routing import is_bulk_queue

# While main and bulk lanes both have messages, one message in this many comes from a bulk lane.
BULK_EVERY = 4


class MainLanesFirst(round_robin_cycle):
    """kombu's queue cycle (`consume`, `rotate`, `update`): main lanes, then bulk lanes, each round robin."""

    def __init__(self, it: list[str] | None = None) -> None:
        super().__init__(it)
        self.since_bulk = 0  # messages taken from a main lane since the last from a bulk lane

    def consume(self, n: int) -> list[str]:
        queues = self.items[:n]
        main = [queue for queue in queues if not is_bulk_queue(queue)]
        bulk = [queue for queue in queues if is_bulk_queue(queue)]
        return bulk + main if self.since_bulk >= BULK_EVERY - 1 else main + bulk

    def rotate(self, last_used: str) -> str:
        self.since_bulk = 0 if is_bulk_queue(last_used) else self.since_bulk + 1
        return super().rotate(last_used)
