"""transport/batches.py: which jobs share a message, and how many events a message carries per lane."""

from hookline.transport import batches
from hookline.transport.publisher import Job

ONE, MANY = "hookline.tasks.ghl_sync.apply_event", "hookline.tasks.ghl_sync.apply_events"
FETCH = "hookline.tasks.reonic_sync.fetch"


def job(tenant_id, event_id):
    return Job(ONE, tenant_id, event_id, "ghl")


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


def test_a_hot_tenants_events_are_held_until_they_fill_a_bulk_message_or_have_waited():
    held = batches.Held(size=3, wait=0.1)
    first = [(0.0, job(7, 1)), (0.0, job(8, 2)), (0.01, job(7, 3))]

    jobs, released = held.take(first, hot={7}, now=0.02)
    assert [j.event_id for j in jobs] == [2] and released == set()  # 8 is not hot: it goes now
    assert len(held) == 2 and held.due_at() == 0.1

    jobs, released = held.take([(0.03, job(7, 4))], hot={7}, now=0.04)  # the third: a full message
    assert [j.event_id for j in jobs] == [1, 3, 4] and released == {7}
    assert len(held) == 0 and held.due_at() is None

    held.take([(0.05, job(7, 5))], hot={7}, now=0.05)
    assert held.take([], hot=set(), now=0.14)[0] == []  # not yet waited 0.1 s
    jobs, released = held.take([], hot=set(), now=0.16)  # due, though 7 has cooled down since
    assert [j.event_id for j in jobs] == [5] and released == {7}


def test_nothing_is_held_that_does_not_batch_or_without_a_wait_and_stopping_releases_everything():
    other = Job(FETCH, 7, 9, "reonic")
    assert batches.Held(size=3, wait=0.1).take([(0.0, other)], hot={7}, now=0.0)[0] == [other]
    assert batches.Held(size=3, wait=0.0).take([(0.0, job(7, 1))], hot={7}, now=0.0)[0] == [job(7, 1)]

    held = batches.Held(size=3, wait=10)
    held.take([(0.0, job(7, 1)), (0.0, job(8, 2))], hot={7, 8}, now=0.0)
    jobs, released = held.take([], hot=set(), now=0.0, everything=True)
    assert sorted(j.event_id for j in jobs) == [1, 2] and released == {7, 8} and len(held) == 0
