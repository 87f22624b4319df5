import pytest

from hookline.integrations.email import OutgoingEmail


@pytest.fixture()
def email() -> OutgoingEmail:
    return OutgoingEmail(
        from_name="Sunny Solar, Billing", from_address="mail@hookline.test", to="ana@example.com",
        reply_to="billing@sunny.example", subject="Your appointment on 3 Dec is confirmed",
        text="Hello Ana,\nsee you then.\n", html="<p>Hello Ana,</p><p>see you then.</p>",
        message_id="<hookline.1.7@hookline.test>",
    )
