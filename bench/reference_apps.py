"""Reference endpoints for bench/ingress.py: uvicorn alone, and one async durable write.

bare     raw ASGI, reads the body and answers 202: the ceiling of uvicorn on this machine.
durable  Starlette (the ingress's framework, so the ratio measures the ingress's own work): one
         INSERT of the body in an autocommit connection from a psycopg AsyncConnectionPool, one
         LPUSH on a long-lived redis.asyncio client, then 202. Settings come from BENCH_* variables.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send


async def bare(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    more_body = True
    while more_body:
        more_body = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 202, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


@asynccontextmanager
async def _connections(app: Starlette) -> AsyncIterator[None]:
    size = int(os.environ.get("BENCH_POOL_SIZE", "10"))
    pool = AsyncConnectionPool(os.environ["BENCH_DATABASE_URL"], min_size=size, max_size=size,
                               kwargs={"autocommit": True}, open=False)
    await pool.open(wait=True)
    app.state.pool = pool
    app.state.redis = aioredis.Redis.from_url(os.environ["BENCH_REDIS_URL"])
    try:
        yield
    finally:
        await app.state.redis.aclose()
        await pool.close()


async def _store(request: Request) -> Response:
    payload = await request.body()
    async with request.app.state.pool.connection() as connection:
        await connection.execute("INSERT INTO bench_raw (body) VALUES (%s::jsonb)", (payload.decode(),))
    await request.app.state.redis.lpush("bench_raw", payload)
    return Response(status_code=202)


async def _healthz(request: Request) -> Response:
    return Response(status_code=200)


durable = Starlette(
    routes=[Route("/healthz", _healthz, methods=["GET"]), Route("/webhooks/ghl", _store, methods=["POST"])],
    lifespan=_connections,
)
