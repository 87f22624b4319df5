"""The ingress's tenant lookup: remembered for a while, and looked up once however many ask at once."""

from __future__ import annotations

import asyncio

import pytest

from hookline.ingress.connections import ConnectionDirectory
from hookline.ingress.errors import WebhookRejected


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
