"""The file transport (the embedded default): one readable .eml per message under var/mail."""

from email import message_from_bytes, policy

from hookline.integrations.email.files import FileTransport


def test_each_message_is_an_eml_file_a_mail_client_reads(tmp_path, email):
    transport = FileTransport(tmp_path / "mail")

    name = transport.send(email)

    [path] = (tmp_path / "mail").iterdir()
    assert path.name == name and path.suffix == ".eml"
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["From"] == '"Sunny Solar, Billing" <mail@hookline.test>'
    assert (message["To"], message["Reply-To"]) == ("ana@example.com", "billing@sunny.example")
    assert message["Subject"] == "Your appointment on 3 Dec is confirmed"
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content() == email.text
    assert "<p>see you then.</p>" in message.get_body(("html",)).get_content()


def test_no_partial_file_is_left_beside_the_messages(tmp_path, email):
    transport = FileTransport(tmp_path / "mail")

    transport.send(email)
    transport.send(email)

    assert sorted(p.suffix for p in (tmp_path / "mail").iterdir()) == [".eml", ".eml"]
