"""The SMTP transport against a real SMTP server on loopback (aiosmtpd)."""

import dataclasses

import pytest
from pydantic import SecretStr

from hookline.integrations.email.smtp import SMTPTransport
from hookline.integrations.errors import RejectedError, TransientError
from tests.support.processes import free_port
from tests.support.smtp import PASSWORD, USER, smtp_server


def test_starttls_and_login_then_the_message_arrives_with_both_parts(tmp_path, email):
    with smtp_server(tmp_path, secure=True) as server:
        transport = SMTPTransport(server.host, server.port, starttls=True, username=USER,
                                  password=SecretStr(PASSWORD), ca_file=server.ca_file, timeout=5)

        provider_id = transport.send(email)

    assert provider_id == email.message_id
    [received] = server.received
    assert (received.mail_from, received.rcpt_tos) == ("mail@hookline.test", ["ana@example.com"])
    assert received.tls and received.authenticated
    message = received.message
    assert message["From"] == '"Sunny Solar, Billing" <mail@hookline.test>'
    assert message["Reply-To"] == "billing@sunny.example"
    assert message["Message-ID"] == email.message_id
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == email.text  # CRLF on the wire
    assert message.get_body(("html",)).get_content().strip() == email.html


def test_a_wrong_password_is_permanent_and_never_reaches_the_error_text(tmp_path, email):
    with smtp_server(tmp_path, secure=True) as server:
        transport = SMTPTransport(server.host, server.port, username=USER, password=SecretStr("wrong-password"),
                                  ca_file=server.ca_file, timeout=5)
        with pytest.raises(RejectedError, match="535") as caught:
            transport.send(email)

    assert "wrong-password" not in str(caught.value)
    assert server.received == []


def test_a_server_certificate_we_do_not_trust_is_refused(tmp_path, email):
    with smtp_server(tmp_path, secure=True) as server:
        transport = SMTPTransport(server.host, server.port, username=USER, password=SecretStr(PASSWORD), timeout=5)
        with pytest.raises(TransientError, match="CERTIFICATE_VERIFY_FAILED"):
            transport.send(email)
    assert server.received == []


def test_a_550_recipient_is_permanent_a_451_transient(email):
    with smtp_server() as server:
        transport = SMTPTransport(server.host, server.port, starttls=False, timeout=5)
        with pytest.raises(RejectedError, match="550"):
            transport.send(dataclasses.replace(email, to="reject@example.com"))
        with pytest.raises(TransientError, match="451"):
            transport.send(dataclasses.replace(email, to="later@example.com"))
    assert server.received == []


def test_no_server_listening_is_transient(email):
    transport = SMTPTransport("127.0.0.1", free_port(), starttls=False, timeout=2)

    with pytest.raises(TransientError, match=r"SMTP 127\.0\.0\.1"):
        transport.send(email)
