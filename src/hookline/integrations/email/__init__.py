"""Sending email: one message type, three transports (file, SMTP, Postmark), chosen by a setting.

A transport's `send` returns the provider's message id, or raises TransientError (retry later:
timeouts, 5xx, SMTP 4xx) or RejectedError (never retry: a provider's 4xx, SMTP 5xx).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from hookline.config import Settings


@dataclass(frozen=True)
class OutgoingEmail:
    from_name: str
    from_address: str
    to: str
    subject: str
    text: str
    html: str
    message_id: str  # our Message-ID header, <…@domain>, stable per outbox row
    reply_to: str | None = None

    @property
    def sender(self) -> str:
        """The From header: display name quoted as RFC 5322 needs it."""
        return str(Address(display_name=self.from_name, addr_spec=self.from_address))


class Transport(Protocol):
    name: str  # the provider, for its rate limit and in logs

    def send(self, email: OutgoingEmail) -> str: ...


def make_transport(settings: Settings) -> Transport:
    """The transport HOOKLINE_EMAIL_TRANSPORT names, configured from settings."""
    if settings.email_transport == "smtp":
        from hookline.integrations.email.smtp import SMTPTransport

        return SMTPTransport.from_settings(settings)
    if settings.email_transport == "postmark":
        from hookline.integrations.email.postmark import PostmarkTransport

        return PostmarkTransport.from_settings(settings)
    from hookline.integrations.email.files import FileTransport

    return FileTransport(settings.var_dir / "mail")
