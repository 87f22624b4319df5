"""The fairness lanes on the real Redis: counting a tenant's burst, the hot mark, the bulk lane's messages."""

import asyncio
import json

import pytest
import redis
from redis import asyncio as aioredis

from hookline.transport.lanes import Lanes, lane
from hookline.transport.messages import TaskMessages, push
from hookline.transport.publisher import Job
from hookline.workers.app import app
from tests.conftest import REDIS_URL

TASK = "hookline.tasks.ghl_sync.upsert_contact"


def lanes(client, burst=10, window=5, cooldown=30):
    return Lanes(client, burst=burst, window=window, cooldown=cooldown)


@pytest.fixture(autouse=True)
def no_counters(redis_client):
    """The Redis client is the session's: forget every tenant's counters and hot marks (other tests publish too)."""
    for pattern in ("hookline:ratelimit:fair:*", "hookline:fair:hot:*"):
        for key in redis_client.scan_iter(pattern):
            redis_client.delete(key)


def test_a_tenant_over_its_burst_is_hot_and_the_others_are_not(redis_client):
    fair = lanes(redis_client)

    assert fair.hot({1: 10, 2: 3}) == set()  # exactly the burst: still the main lane
    assert fair.hot({1: 1, 2: 3}) == {1}
    assert fair.hot({2: 1}) == set()


def test_a_hot_tenant_stays_hot_for_the_cooldown_and_every_key_expires(redis_client):
    fair = lanes(redis_client, burst=5, window=1, cooldown=30)
    assert fair.hot({7: 6}) == {7}
    redis_client.delete(*redis_client.keys("hookline:ratelimit:fair:7:*"))  # as when the next window starts

    assert fair.hot({7: 1}) == {7}  # under the burst in the new window, but cooling down
    assert 0 < redis_client.ttl("hookline:fair:hot:7") <= 30
    assert all(0 < redis_client.ttl(key) <= 2 for key in redis_client.keys("hookline:ratelimit:fair:7:*"))


def test_the_script_is_loaded_again_when_redis_lost_it(redis_client):
    fair = lanes(redis_client, burst=1)
    redis_client.script_flush()

    assert fair.hot({3: 2}) == {3}


def test_without_redis_or_with_burst_zero_everyone_stays_on_the_main_lane(redis_client):
    unreachable = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_timeout=0.2, socket_connect_timeout=0.2)

    assert lanes(unreachable, burst=1).hot({1: 100}) == set()
    assert lanes(redis_client, burst=0).hot({1: 100}) == set()
    assert lanes(None).hot({1: 100}) == set()


def test_only_tenant_event_queues_have_a_bulk_lane():
    assert lane(TASK, True) == {"queue": "ghl_sync.bulk", "routing_key": "ghl_sync.bulk"}
    assert lane(TASK, False) == {}
    assert lane("hookline.tasks.email.send", True) == {}


def test_a_batch_sends_hot_tenants_to_the_bulk_lane_and_the_others_to_the_main_lane(redis_client):
    redis_client.delete("ghl_sync", "ghl_sync.bulk")

    push(redis_client, TaskMessages(app), [Job(TASK, 1, 10, "ghl"), Job(TASK, 2, 20, "ghl"), Job(TASK, 1, 11, "ghl")],
         bulk={1})

    def event_ids(queue):
        return sorted(json.loads(raw)["headers"]["kwargsrepr"] for raw in redis_client.lrange(queue, 0, -1))

    assert event_ids("ghl_sync.bulk") == ["{'tenant_id': 1, 'event_id': 10}", "{'tenant_id': 1, 'event_id': 11}"]
    assert event_ids("ghl_sync") == ["{'tenant_id': 2, 'event_id': 20}"]


def test_the_ingress_routes_by_the_last_answers_while_it_counts_a_batch(redis_client):
    async def answers() -> list[set[int]]:
        client = aioredis.Redis.from_url(REDIS_URL)
        fair = Lanes(None, burst=5, window=1, cooldown=30, async_client=client)
        seen = [fair.known_hot({7, 8})]  # nothing answered yet: the main lane
        await fair.hot_async({7: 6, 8: 1})  # 7 over its burst
        seen.append(fair.known_hot({7, 8}))
        await asyncio.sleep(1.1)  # the answer is a window old: no longer trusted
        seen.append(fair.known_hot({7}))
        await fair.hot_async({7: 1})  # still cooling down: hot
        seen.append(fair.known_hot({7}))
        redis_client.delete("hookline:fair:hot:7")  # cooled down
        await fair.hot_async({7: 1})
        seen.append(fair.known_hot({7}))
        await client.aclose()
        return seen

    assert asyncio.run(answers()) == [set(), {7}, set(), {7}, set()]
