"""The ingress's tenant lookup: remembered for a while, looked up once however many ask at once, and
looked up again in the background before it expires."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import update

from hookline.db import global_session
from hookline.ingress.connections import ConnectionDirectory
from hookline.ingress.errors import WebhookRejected
from hookline.models import Connection


def resolve_together(directory: ConnectionDirectory, account_id: str, times: int) -> list:
    async def together() -> list:
        return await asyncio.gather(*(directory.resolve("ghl", account_id, what="GoHighLevel location")
                                      for _ in range(times)), return_exceptions=True)

    return asyncio.run(together())


def test_requests_that_miss_together_share_one_lookup(tenant):
    # ttl 0 remembers nothing, so each lookup makes a new Resolved: one object means one lookup.
    found = resolve_together(ConnectionDirectory(0), "loc-sunny-001", 20)

    assert {resolved.tenant_id for resolved in found} == {tenant.id}
    assert len({id(resolved) for resolved in found}) == 1


def test_a_later_miss_looks_up_again(tenant):
    directory = ConnectionDirectory(0)

    [first], [second] = resolve_together(directory, "loc-sunny-001", 1), resolve_together(directory, "loc-sunny-001", 1)

    assert first.tenant_id == second.tenant_id == tenant.id and first is not second


def test_an_unknown_account_is_a_404_for_every_request_that_asked(tenant):
    refused = resolve_together(ConnectionDirectory(5), "loc-nobody", 5)

    assert all(isinstance(exc, WebhookRejected) and exc.status == 404 for exc in refused)
    with pytest.raises(WebhookRejected):
        asyncio.run(ConnectionDirectory(5).resolve("ghl", "loc-nobody", what="GoHighLevel location"))


TTL = 2.0  # its last fifth, when the background lookup starts, is 0.4 s: room for a slow machine
KEY = ("ghl", "loc-sunny-001")


async def until_shortly_before_expiry(directory: ConnectionDirectory) -> None:
    """Sleep until 0.2 s before the remembered connection expires: in the last fifth of its life."""
    await asyncio.sleep(directory._found[KEY][0] - time.monotonic() - 0.2)


async def settle(directory: ConnectionDirectory) -> None:
    """Wait for the directory's background lookups to finish (a few ms each)."""
    for _ in range(500):
        await asyncio.sleep(0.01)
        if not directory._looking:
            return
    raise AssertionError("a background lookup never finished")


def test_near_its_expiry_a_connection_is_looked_up_in_the_background_while_requests_keep_it(tenant):
    directory = ConnectionDirectory(TTL)

    async def scenario() -> tuple:
        first = await directory.resolve("ghl", "loc-sunny-001", what="GoHighLevel location")
        await until_shortly_before_expiry(directory)
        meanwhile = await directory.resolve("ghl", "loc-sunny-001", what="GoHighLevel location")
        await settle(directory)
        refreshed = await directory.resolve("ghl", "loc-sunny-001", what="GoHighLevel location")
        await asyncio.sleep(0.3)  # past the first lookup's expiry, well within the refreshed one's
        later = await directory.resolve("ghl", "loc-sunny-001", what="GoHighLevel location")
        return first, meanwhile, refreshed, later, dict(directory._looking)

    first, meanwhile, refreshed, later, looking = asyncio.run(scenario())

    assert meanwhile is first  # answered from memory: the request did not wait for the lookup
    assert refreshed is not first and refreshed.tenant_id == tenant.id  # the background lookup's
    assert later is refreshed and looking == {}  # the refresh extended its life; no lookup since


def test_a_connection_disabled_meanwhile_is_dropped_by_the_background_lookup(tenant):
    directory = ConnectionDirectory(TTL)

    async def scenario() -> None:
        await directory.resolve("ghl", "loc-sunny-001", what="GoHighLevel location")
        with global_session() as session:
            session.execute(update(Connection).where(Connection.tenant_id == tenant.id).values(status="disabled"))
        await until_shortly_before_expiry(directory)
        await directory.resolve("ghl", "loc-sunny-001", what="GoHighLevel location")  # still remembered
        await settle(directory)
        await directory.resolve("ghl", "loc-sunny-001", what="GoHighLevel location")

    with pytest.raises(WebhookRejected) as refused:
        asyncio.run(scenario())
    assert refused.value.status == 404
