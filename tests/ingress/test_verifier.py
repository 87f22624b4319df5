"""GoHighLevel's signature checks in the verifier child process (ingress/verifier.py): the same
answers as in the event loop, and nothing lost when the child dies."""

from __future__ import annotations

import asyncio
import json
import os
import signal

import httpx
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from hookline.ingress.verifier import MIN_BATCH, Verifier
from hookline.integrations.errors import InvalidSignature
from tests.ingress.conftest import events, log_lines
from tests.support.ingress import ingress
from tests.support.keys import ed25519_public_pem, rsa_public_pem, rsa_signature
from tests.support.processes import wait_for
from tests.support.webhooks import encode, ghl_headers, payload



def fresh() -> bytes:
    """A signed ContactCreate whose `timestamp` is now: one made at import is stale minutes later."""
    return encode(payload("ghl/ContactCreate.json"))


def forged(body: bytes) -> bytes:
    return body.replace(b"Ana", b"Eve")


def cases() -> dict[str, tuple[bytes, dict[str, str]]]:
    body = fresh()
    compact = json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode()
    assert compact != body
    return {
        "rsa": (body, ghl_headers(body, "rsa")),
        "ed25519": (body, ghl_headers(body, "ed25519")),
        "rsa, another body": (forged(body), ghl_headers(body, "rsa")),
        "ed25519, another body": (forged(body), ghl_headers(body, "ed25519")),
        "no signature": (body, {}),
        "not base64": (body, {"x-wh-signature": "%%%"}),
        "the compact form signed, the body spaced": (body, {"x-wh-signature": rsa_signature(compact)}),
    }


def answer(check) -> str:
    try:
        return check()
    except InvalidSignature as exc:
        return f"refused: {exc.reason}"


def verifier(*, ed25519: bool = True) -> Verifier:
    return Verifier(load_pem_public_key(rsa_public_pem().encode()),
                    load_pem_public_key(ed25519_public_pem().encode()) if ed25519 else None)


async def both_ways(checker: Verifier) -> dict[str, tuple[str, str]]:
    """Every case checked by the child (all at once, as a busy event loop asks) and in the loop."""
    async def in_child(body: bytes, headers: dict) -> str:
        try:
            return await checker.verify(body, headers)
        except InvalidSignature as exc:
            return f"refused: {exc.reason}"

    checks = cases()
    children = await asyncio.gather(*(in_child(body, headers) for body, headers in checks.values()))
    inline = [answer(lambda b=body, h=headers: checker._inline(b, h)) for body, headers in checks.values()]
    return dict(zip(checks, zip(children, inline, strict=True), strict=True))


def test_the_child_answers_every_case_as_the_event_loop_does():
    async def scenario() -> tuple[bool, dict, dict]:
        checker, without_ed25519 = verifier(), verifier(ed25519=False)
        await checker.start()
        await without_ed25519.start()
        try:
            return checker.running, await both_ways(checker), await both_ways(without_ed25519)
        finally:
            await checker.close()
            await without_ed25519.close()

    running, answers, answers_without_ed25519 = asyncio.run(scenario())

    assert running
    for results in (answers, answers_without_ed25519):
        for case, (child, inline) in results.items():
            assert child == inline, case
    assert answers["rsa"][0] == "rsa" and answers["ed25519"][0] == "ed25519"
    assert answers["the compact form signed, the body spaced"][0] == "rsa"
    assert answers["rsa, another body"][0] == "refused: rsa signature mismatch"
    assert answers["no signature"][0] == "refused: missing signature"
    assert answers["not base64"][0] == "refused: malformed signature"
    assert answers_without_ed25519["ed25519"][0] == "refused: ed25519 key not configured"


def test_checks_of_a_child_that_dies_are_made_in_the_event_loop_and_a_new_child_starts():
    body = fresh()

    async def scenario() -> tuple[list[str], list[str], int, int]:
        checker = verifier()
        await checker.start()
        first = checker._process.pid
        try:
            waiting = [checker.verify(body, ghl_headers(body, "rsa")) for _ in range(200)]
            os.kill(first, signal.SIGKILL)
            during = await asyncio.gather(*waiting)
            for _ in range(100):  # the child is started again after a second
                if checker.running and checker._process.pid != first:
                    break
                await asyncio.sleep(0.05)
            after = await asyncio.gather(*(checker.verify(body, ghl_headers(body, "rsa")) for _ in range(20)))
            return during, after, first, checker._process.pid
        finally:
            await checker.close()

    during, after, first, second = asyncio.run(scenario())

    assert during == ["rsa"] * 200
    assert after == ["rsa"] * 20
    assert second != first


def test_the_ingress_keeps_answering_when_its_verifier_is_killed(client, tenant, ingress_log):
    wait_for(lambda: log_lines(ingress_log, "ingress.verifier.started"), what="the ingress's verifier to start")
    [started] = log_lines(ingress_log, "ingress.verifier.started")[-1:]
    os.kill(started["pid"], signal.SIGKILL)

    body = fresh()
    accepted = client.post("/webhooks/ghl", content=body, headers=ghl_headers(body, "rsa"))
    refused = client.post("/webhooks/ghl", content=forged(body), headers=ghl_headers(body, "rsa"))

    assert (accepted.status_code, refused.status_code) == (202, 401)
    assert len(events(tenant.id)) == 1
    wait_for(lambda: log_lines(ingress_log, "ingress.verifier.lost"), what="the lost verifier to be logged")
    wait_for(lambda: len(log_lines(ingress_log, "ingress.verifier.started")) >= 2, what="a new verifier")
    body = fresh()
    again = client.post("/webhooks/ghl", content=forged(body), headers=ghl_headers(body, "rsa"))
    assert again.status_code == 401


def test_with_the_verifier_turned_off_the_event_loop_checks(tmp_path, database, tenant):
    log = tmp_path / "ingress.log"
    with ingress(log, HOOKLINE_INGRESS_VERIFIER="false") as url:
        body = fresh()
        accepted = httpx.post(f"{url}/webhooks/ghl", content=body, headers=ghl_headers(body, "rsa"), timeout=10)
        refused = httpx.post(f"{url}/webhooks/ghl", content=forged(body), headers=ghl_headers(body, "rsa"), timeout=10)

    assert (accepted.status_code, refused.status_code) == (202, 401)
    assert log_lines(log, "ingress.verifier.started") == []


def cpu_seconds(pid: int) -> float:
    """The process's time on a CPU so far, to the ns (/proc/PID/schedstat), not in 10 ms ticks."""
    return int(open(f"/proc/{pid}/schedstat").read().split()[0]) / 1e9


def test_a_few_checks_are_made_in_the_event_loop_and_many_asked_together_in_the_child():
    body = fresh()
    headers = ghl_headers(body, "rsa")
    few = MIN_BATCH - 1

    async def child_seconds(checker, rounds: int, at_once: int) -> float:
        before = cpu_seconds(checker._process.pid)
        for _ in range(rounds):  # `at_once` asked in the same pass of the loop, `rounds` times
            assert await asyncio.gather(*(checker.verify(body, headers) for _ in range(at_once))) == ["rsa"] * at_once
        return cpu_seconds(checker._process.pid) - before

    async def scenario() -> tuple[float, float, float]:
        checker = verifier()
        await checker.start()
        try:
            await asyncio.gather(*(checker.verify(body, headers) for _ in range(20)))  # the child is up and warm
            return (await child_seconds(checker, 300, 1), await child_seconds(checker, 300 // few, few),
                    await child_seconds(checker, 10, 30))
        finally:
            await checker.close()

    lone, fewer, together = asyncio.run(scenario())

    assert together > 0.002  # 300 checks (RSA-2048: ~25 µs each)
    assert lone < 0.1 * together  # the same 300, one at a time: none reached the child
    assert fewer < 0.1 * together  # in passes of MIN_BATCH - 1: none either
