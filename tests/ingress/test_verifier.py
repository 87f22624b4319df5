"""GoHighLevel's signature checks in the verifier child process (ingress/verifier.py): the same
answers as in the event loop, and nothing lost when the child dies."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import threading

import httpx
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from hookline.ingress.verifier import ANSWER, CHECK, KEYS, MIN_BATCH, Verifier, serve
from hookline.integrations.errors import InvalidSignature
from tests.ingress.conftest import events, log_lines
from tests.support.ingress import ingress
from tests.support.keys import ed25519_public_pem, ed25519_signature, rsa_public_pem
from tests.support.processes import cpu_seconds, wait_for
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
        "ed25519": (body, ghl_headers(body)),
        "rsa": (body, ghl_headers(body, "rsa")),
        "both": (body, ghl_headers(body, "both")),
        "ed25519, another body": (forged(body), ghl_headers(body)),
        "rsa, another body": (forged(body), ghl_headers(body, "rsa")),
        "no signature": (body, {}),
        "not base64": (body, {"x-ghl-signature": "%%%"}),
        "the compact form signed, the body spaced": (body, {"x-ghl-signature": ed25519_signature(compact)}),
        "10,000 levels deep": (DEEP, ghl_headers(body)),
        "not UTF-8": (b'{"name": "M\xfcller"}', ghl_headers(body)),
    }


# Hostile bodies (tests/ingress/test_hostile_input.py has them on every route): a check reads only bytes.
DEEP = b'{"a":' * 10_000 + b"1" + b"}" * 10_000


def answer(check) -> str:
    try:
        return check()
    except InvalidSignature as exc:
        return f"refused: {exc.reason}"


def verifier(*, ed25519: bool = True, rsa: bool = False) -> Verifier:
    return Verifier(load_pem_public_key(ed25519_public_pem().encode()) if ed25519 else None,
                    load_pem_public_key(rsa_public_pem().encode()) if rsa else None)


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
    async def scenario() -> tuple[list[bool], list[dict]]:
        checkers = [verifier(), verifier(rsa=True), verifier(ed25519=False, rsa=True), verifier(ed25519=False)]
        for checker in checkers:
            await checker.start()
        try:
            return [checker.running for checker in checkers], [await both_ways(checker) for checker in checkers]
        finally:
            for checker in checkers:
                await checker.close()

    running, (default, with_rsa, rsa_only, no_key) = asyncio.run(scenario())

    assert running == [True] * 4
    for results in (default, with_rsa, rsa_only, no_key):
        for case, (child, inline) in results.items():
            assert child == inline, case
    first = {case: child for case, (child, _) in default.items()}
    assert first == {
        "ed25519": "ed25519",
        "rsa": "refused: x-wh-signature (RSA) is not accepted; GoHighLevel signs with Ed25519 in x-ghl-signature",
        "both": "ed25519",
        "ed25519, another body": "refused: ed25519 signature mismatch",
        "rsa, another body": first["rsa"],
        "no signature": "refused: missing signature",
        "not base64": "refused: malformed signature",
        "the compact form signed, the body spaced": "refused: ed25519 signature mismatch",
        "10,000 levels deep": "refused: ed25519 signature mismatch",
        "not UTF-8": "refused: ed25519 signature mismatch",
    }
    assert (with_rsa["rsa"][0], with_rsa["rsa, another body"][0]) == ("rsa", "refused: rsa signature mismatch")
    assert (rsa_only["both"][0], rsa_only["ed25519"][0]) == ("rsa", "refused: ed25519 key not configured")
    assert no_key["ed25519"][0] == no_key["rsa"][0] == "refused: ed25519 key not configured"


async def refusals(checker: Verifier, bodies: list[bytes], headers: dict) -> list[str]:
    async def one(body: bytes) -> str:
        try:
            return await checker.verify(body, headers)
        except InvalidSignature as exc:
            return f"refused: {exc.reason}"

    return await asyncio.gather(*(one(body) for body in bodies))


def test_a_burst_of_hostile_bodies_is_refused_by_the_child_which_lives_on():
    hostile = [DEEP, b"[" * 100_000, b'{"n": 1' + b"0" * 100_000 + b"}", b'{"a": 1, "a": 2}', b"\xff\xfe{}"]

    async def scenario() -> tuple[list[str], float, int, int | None, str]:
        checker = verifier()
        await checker.start()
        try:
            pid = checker._process.pid
            before = cpu_seconds(pid)
            refused = await refusals(checker, hostile * 40, ghl_headers(b"another body"))  # one pass: to the child
            spent = cpu_seconds(pid) - before
            body = fresh()
            [after] = await refusals(checker, [body], ghl_headers(body))
            return refused, spent, checker._process.pid - pid, checker._process.returncode, after
        finally:
            await checker.close()

    refused, child_seconds, new_pid, returncode, after = asyncio.run(scenario())

    assert refused == ["refused: ed25519 signature mismatch"] * 200
    assert child_seconds > 0.002  # the child made the 200 checks
    assert (new_pid, returncode, after) == (0, None, "ed25519")  # the same child, alive, still checking


def test_checks_of_a_child_that_dies_are_made_in_the_event_loop_and_a_new_child_starts():
    body = fresh()

    async def scenario() -> tuple[list[str], list[str], int, int]:
        checker = verifier()
        await checker.start()
        first = checker._process.pid
        try:
            waiting = [checker.verify(body, ghl_headers(body)) for _ in range(200)]
            os.kill(first, signal.SIGKILL)
            during = await asyncio.gather(*waiting)
            for _ in range(100):  # the child is started again after a second
                if checker.running and checker._process.pid != first:
                    break
                await asyncio.sleep(0.05)
            after = await asyncio.gather(*(checker.verify(body, ghl_headers(body)) for _ in range(20)))
            return during, after, first, checker._process.pid
        finally:
            await checker.close()

    during, after, first, second = asyncio.run(scenario())

    assert during == ["ed25519"] * 200
    assert after == ["ed25519"] * 20
    assert second != first


def test_the_ingress_keeps_answering_when_its_verifier_is_killed(client, tenant, ingress_log):
    wait_for(lambda: log_lines(ingress_log, "ingress.verifier.started"), what="the ingress's verifier to start")
    [started] = log_lines(ingress_log, "ingress.verifier.started")[-1:]
    os.kill(started["pid"], signal.SIGKILL)

    body = fresh()
    accepted = client.post("/webhooks/ghl", content=body, headers=ghl_headers(body))
    refused = client.post("/webhooks/ghl", content=forged(body), headers=ghl_headers(body))

    assert (accepted.status_code, refused.status_code) == (202, 401)
    assert len(events(tenant.id)) == 1
    wait_for(lambda: log_lines(ingress_log, "ingress.verifier.lost"), what="the lost verifier to be logged")
    wait_for(lambda: len(log_lines(ingress_log, "ingress.verifier.started")) >= 2, what="a new verifier")
    body = fresh()
    again = client.post("/webhooks/ghl", content=forged(body), headers=ghl_headers(body))
    assert again.status_code == 401


def test_with_the_verifier_turned_off_the_event_loop_checks(tmp_path, database, tenant):
    log = tmp_path / "ingress.log"
    with ingress(log, HOOKLINE_INGRESS_VERIFIER="false") as url:
        body = fresh()
        accepted = httpx.post(f"{url}/webhooks/ghl", content=body, headers=ghl_headers(body), timeout=10)
        refused = httpx.post(f"{url}/webhooks/ghl", content=forged(body), headers=ghl_headers(body), timeout=10)

    assert (accepted.status_code, refused.status_code) == (202, 401)
    assert log_lines(log, "ingress.verifier.started") == []


def test_a_few_checks_are_made_in_the_event_loop_and_many_asked_together_in_the_child():
    body = fresh()
    headers = ghl_headers(body)
    few = MIN_BATCH - 1

    async def child_seconds(checker, rounds: int, at_once: int) -> float:
        before = cpu_seconds(checker._process.pid)
        for _ in range(rounds):  # `at_once` asked in the same pass of the loop, `rounds` times
            assert await asyncio.gather(*(checker.verify(body, headers) for _ in range(at_once))) == ["ed25519"] * at_once
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

    assert together > 0.002  # 300 checks (Ed25519: ~50-110 µs each)
    assert lone < 0.1 * together  # the same 300, one at a time: none reached the child
    assert fewer < 0.1 * together  # in passes of MIN_BATCH - 1: none either


def read_answers(sock: socket.socket, count: int) -> list[str]:
    buffer, answers = b"", []
    sock.settimeout(10)
    while len(answers) < count:
        buffer += sock.recv(65536)
        while len(buffer) >= ANSWER.size and len(buffer) >= ANSWER.size + ANSWER.unpack_from(buffer)[0]:
            end = ANSWER.size + ANSWER.unpack_from(buffer)[0]
            answers.append(buffer[ANSWER.size:end].decode())
            buffer = buffer[end:]
    return answers


def test_a_check_that_fails_unexpectedly_is_handed_back_and_the_child_answers_the_next():
    parent, child = socket.socketpair()
    serving = threading.Thread(target=serve, args=(child,), daemon=True)
    serving.start()
    # An RSA key in the Ed25519 slot: its verify() wants other arguments, a TypeError no signature causes.
    wrong_kind = rsa_public_pem().encode()
    signature = ed25519_signature(b"body").encode()
    try:
        parent.sendall(KEYS.pack(len(wrong_kind), 0) + wrong_kind
                       + CHECK.pack(len(signature), 0, 4) + signature + b"body"  # fails unexpectedly
                       + CHECK.pack(0, 0, 4) + b"body")  # no signature at all
        answers = read_answers(parent, 2)
    finally:
        parent.close()
        serving.join(10)

    assert answers == ["?", "!missing signature"]  # "?": the event loop checks it itself
    assert not serving.is_alive()  # it ended only when its input did
