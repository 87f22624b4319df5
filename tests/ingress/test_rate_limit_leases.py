"""The tenant limit taken from Redis in leases: never more than the limit in all, one round trip per lease."""

from __future__ import annotations

import asyncio

from redis import asyncio as aioredis

from hookline.ingress.errors import WebhookRejected
from hookline.ingress.ratelimit import TenantRateLimit, lease_size
from tests.conftest import REDIS_URL


async def admitted(limiter: TenantRateLimit, tenant_id: int) -> bool:
    try:
        await limiter.check(tenant_id)
    except WebhookRejected as refused:
        assert (refused.status, refused.code) == (429, "rate_limited")
        return False
    return True


def test_a_lease_is_a_hundredth_of_the_limit_within_bounds():
    assert [lease_size(limit) for limit in (1, 4, 250, 3000, 10**9)] == [1, 1, 2, 30, 100]


def test_processes_sharing_a_limit_admit_exactly_the_limit_between_them(redis_client):
    async def run() -> tuple[list[bool], int]:
        clients = [aioredis.from_url(REDIS_URL) for _ in range(3)]
        limiters = [TenantRateLimit(client, 250, 3600) for client in clients]  # leases of 2
        answers = [await admitted(limiters[n % 3], 7) for n in range(400)]
        [key] = [key async for key in clients[0].scan_iter("hookline:ratelimit:ingress:7:*")]
        counter = int(await clients[0].get(key))
        for client in clients:
            await client.aclose()
        return answers, counter

    answers, counter = asyncio.run(run())

    # Every lease is spent in turn, so exactly the limit gets through; near its end a process whose
    # lease came back empty refuses while the others still spend theirs (requests 246-251).
    assert sum(answers) == 250
    assert all(answers[:246]) and not any(answers[252:])
    assert counter >= 250


def test_one_process_asks_redis_once_per_lease(redis_client):
    async def run() -> int:
        client = aioredis.from_url(REDIS_URL)
        limiter = TenantRateLimit(client, 3000, 3600)  # leases of 30
        for _ in range(45):
            assert await admitted(limiter, 8)
        [key] = [key async for key in client.scan_iter("hookline:ratelimit:ingress:8:*")]
        counter = int(await client.get(key))
        await client.aclose()
        return counter

    assert asyncio.run(run()) == 60  # two leases taken for 45 requests


def test_concurrent_requests_of_one_process_share_one_lease(redis_client):
    async def run() -> tuple[list[bool], int]:
        client = aioredis.from_url(REDIS_URL)
        limiter = TenantRateLimit(client, 1000, 3600)  # leases of 10
        answers = await asyncio.gather(*(admitted(limiter, 9) for _ in range(50)))
        [key] = [key async for key in client.scan_iter("hookline:ratelimit:ingress:9:*")]
        counter = int(await client.get(key))
        await client.aclose()
        return answers, counter

    answers, counter = asyncio.run(run())

    assert all(answers)
    assert counter == 50  # five leases, not one per waiting request


def test_with_redis_unreachable_requests_are_let_through():
    async def run() -> bool:
        client = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
        limiter = TenantRateLimit(client, 1, 60)
        answers = [await admitted(limiter, 10) for _ in range(3)]
        await client.aclose()
        return all(answers)

    assert asyncio.run(run())
