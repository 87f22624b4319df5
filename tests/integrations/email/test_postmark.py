"""The Postmark transport through respx: the request it makes, and how it reads each answer."""

import httpx
import pytest

from hookline.integrations.email.postmark import PostmarkTransport
from hookline.integrations.errors import RejectedError, TransientError

API = "https://api.postmarkapp.test"


@pytest.fixture()
def transport():
    http = httpx.Client(base_url=API, timeout=2, headers={"X-Postmark-Server-Token": "server-token-1"})
    yield PostmarkTransport(http, message_stream="outbound")
    http.close()


def test_a_message_is_posted_with_token_both_bodies_and_reply_to(respx_mock, transport, email):
    route = respx_mock.post(f"{API}/email").respond(200, json={
        "To": "ana@example.com", "SubmittedAt": "2026-11-21T22:00:00Z",
        "MessageID": "b7bc2f4a-e38e-4336-af7d-e6c392c2f817", "ErrorCode": 0, "Message": "OK"})

    assert transport.send(email) == "b7bc2f4a-e38e-4336-af7d-e6c392c2f817"

    request = route.calls.last.request
    assert request.headers["X-Postmark-Server-Token"] == "server-token-1"
    body = httpx.Response(200, content=request.content).json()
    assert body["From"] == '"Sunny Solar, Billing" <mail@hookline.test>'
    assert (body["To"], body["ReplyTo"], body["MessageStream"]) == ("ana@example.com", "billing@sunny.example", "outbound")
    assert (body["TextBody"], body["HtmlBody"]) == (email.text, email.html)


def test_a_422_is_permanent_with_postmarks_reason(respx_mock, transport, email):
    respx_mock.post(f"{API}/email").respond(422, json={
        "ErrorCode": 300, "Message": "Invalid 'From' address: 'mail@hookline.test' is not a verified sender."})

    with pytest.raises(RejectedError, match=r"422.*not a verified sender"):
        transport.send(email)


@pytest.mark.parametrize("answer", [
    httpx.Response(500, text="Internal Server Error"),
    httpx.Response(503, text="unavailable"),
    httpx.Response(429, json={"ErrorCode": 429, "Message": "Rate limit exceeded"}, headers={"Retry-After": "7"}),
    httpx.ReadTimeout("timed out"),
    httpx.ConnectError("connection refused"),
])
def test_5xx_429_and_timeouts_are_transient(respx_mock, transport, email, answer):
    route = respx_mock.post(f"{API}/email")
    if isinstance(answer, Exception):
        route.mock(side_effect=answer)
    else:
        route.mock(return_value=answer)

    with pytest.raises(TransientError) as caught:
        transport.send(email)

    if isinstance(answer, httpx.Response) and answer.status_code == 429:
        assert caught.value.retry_after == 7
