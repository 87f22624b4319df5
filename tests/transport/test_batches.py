"""transport/batches.py: which jobs share a message, and how many events a message carries per lane."""

from hookline.transport import batches
from hookline.transport.publisher import Job

ONE, MANY = "hookline.tasks.ghl_sync.apply_event", "hookline.tasks.ghl_sync.apply_events"
FETCH = "hookline.tasks.reonic_sync.fetch"


def carried(jobs):
    return [(job.task, job.tenant_id, job.events) for job in jobs]


def test_a_hot_tenants_events_go_in_smaller_batches_than_the_others():
    jobs = [Job(ONE, tenant, event_id, "ghl") for event_id, tenant in enumerate([7] * 5 + [8] * 5, start=1)]

    grouped = batches.group(jobs, 4, bulk={7}, bulk_size=2)

    assert carried(grouped) == [(MANY, 7, (1, 2)), (MANY, 7, (3, 4)), (ONE, 7, (5,)),
                                (MANY, 8, (6, 7, 8, 9)), (ONE, 8, (10,))]


def test_a_task_that_does_not_batch_keeps_a_message_per_event_and_size_one_turns_batches_off():
    jobs = [Job(FETCH, 7, 1, "reonic"), Job(ONE, 7, 2, "ghl"), Job(FETCH, 7, 3, "reonic"), Job(ONE, 7, 4, "ghl")]

    assert carried(batches.group(jobs, 10)) == [(FETCH, 7, (1,)), (MANY, 7, (2, 4)), (FETCH, 7, (3,))]
    assert carried(batches.group(jobs, 1)) == [(FETCH, 7, (1,)), (ONE, 7, (2,)), (FETCH, 7, (3,)), (ONE, 7, (4,))]


def test_the_relays_messages_are_batches_of_the_size_it_asks_for():
    assert list(batches.messages(ONE, [1, 2, 3, 4, 5], 2)) == [
        (MANY, {"event_ids": [1, 2]}), (MANY, {"event_ids": [3, 4]}), (ONE, {"event_id": 5})]
    assert list(batches.messages(FETCH, [1, 2], 10)) == [(FETCH, {"event_id": 1}), (FETCH, {"event_id": 2})]
