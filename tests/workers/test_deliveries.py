"""The poison-message counter on real Redis: only redelivered messages are counted."""

import uuid

from hookline.workers import deliveries


def test_a_first_delivery_is_run_one_and_writes_nothing(redis_client):
    task_id = uuid.uuid4().hex

    assert deliveries.started(7, task_id, redelivered=False) == 1
    assert redis_client.exists(deliveries._key(7, task_id)) == 0


def test_each_redelivery_counts_one_more_run_until_one_returns(redis_client):
    task_id = uuid.uuid4().hex

    runs = [deliveries.started(7, task_id, redelivered=True) for _ in range(3)]
    deliveries.finished(7, task_id)

    assert runs == [2, 3, 4]  # the first delivery, never counted, was run 1
    assert runs[-1] > deliveries.POISON_DELIVERIES  # the 4th start after 3 deaths is quarantined
    assert redis_client.exists(deliveries._key(7, task_id)) == 0


def test_a_count_nobody_finished_expires(redis_client):
    task_id = uuid.uuid4().hex

    deliveries.started(7, task_id, redelivered=True)

    assert 0 < redis_client.ttl(deliveries._key(7, task_id)) <= deliveries.COUNT_TTL
