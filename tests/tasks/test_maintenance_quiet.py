"""Beat's maintenance ticks send no task events (Flower's task list is not flooded); other tasks still do."""

import threading
import time

from hookline.tasks.maintenance import canary, relay_unpublished
from hookline.workers.app import app
from tests.support.processes import wait_for
from tests.support.workers import celery_worker


def test_a_relay_tick_sends_no_task_events_while_the_canary_does(tmp_path, clean_tables):
    received: list[str] = []
    succeeded: list[str] = []

    def collect(event):
        if event["type"] == "task-received":
            received.append(event["name"])
        elif event["type"] == "task-succeeded":
            succeeded.append(event["uuid"])

    with celery_worker(tmp_path / "worker.log", queues="maintenance", concurrency=1), app.connection() as connection:
        receiver = app.events.Receiver(connection, handlers={"*": collect})
        listening = threading.Thread(target=lambda: receiver.capture(limit=None, timeout=60, wakeup=True), daemon=True)
        listening.start()
        # Canaries until one's events arrive: the receiver is listening from then on.
        for _ in range(30):
            canary.apply_async(kwargs={"token": "quiet-1"}, queue="maintenance")
            time.sleep(1)
            if succeeded:
                break
        time.sleep(1)  # the last canaries' events
        before = len(received)
        relay = relay_unpublished.apply_async(queue="maintenance")
        tick = canary.apply_async(kwargs={"token": "quiet-2"}, queue="maintenance")  # after the relay: FIFO, one slot
        wait_for(lambda: tick.id in succeeded, timeout=60, what="the canary's task-succeeded event")
        receiver.should_stop = True

    assert received[before:] == ["hookline.tasks.maintenance.canary"]
    assert relay.id not in succeeded
