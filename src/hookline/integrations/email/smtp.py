"""SMTP submission with the standard library: STARTTLS or implicit TLS, optional login.

Classified by the server's reply: 5xx is permanent (RejectedError), 4xx and lost connections
are transient. A connection lost after the message data was sent is an unknown outcome; it is
transient like the rest, because the server answers the data before it takes the message.
"""

from __future__ import annotations

import smtplib
import ssl
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from hookline.integrations.email import OutgoingEmail
from hookline.integrations.email.mime import to_mime
from hookline.integrations.errors import RejectedError, TransientError

if TYPE_CHECKING:
    from hookline.config import Settings


class SMTPTransport:
    name = "smtp"

    def __init__(self, host: str, port: int, *, starttls: bool = True, implicit_tls: bool = False,
                 username: str | None = None, password: SecretStr | None = None, ca_file: Path | None = None,
                 timeout: float = 30.0) -> None:
        self.host, self.port, self.starttls, self.implicit_tls = host, port, starttls, implicit_tls
        self.username, self._password, self.timeout = username, password, timeout
        self._tls = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)

    @classmethod
    def from_settings(cls, settings: Settings) -> SMTPTransport:
        return cls(settings.smtp_host, settings.smtp_port, starttls=settings.smtp_starttls,
                   implicit_tls=settings.smtp_ssl, username=settings.smtp_username, password=settings.smtp_password,
                   ca_file=settings.smtp_ca_file, timeout=settings.smtp_timeout_seconds)

    def send(self, email: OutgoingEmail) -> str:
        where = f"SMTP {self.host}:{self.port}"
        try:
            with self._connect() as client:
                if self.starttls and not self.implicit_tls:
                    client.starttls(context=self._tls)
                if self.username:
                    client.login(self.username, self._password.get_secret_value() if self._password else "")
                refused = client.send_message(to_mime(email), from_addr=email.from_address, to_addrs=[email.to])
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise _by_code(f"{where}: recipient refused", code, reply) from None
        except smtplib.SMTPResponseException as exc:  # auth, sender, data refused: the server's code decides
            raise _by_code(where, exc.smtp_code, exc.smtp_error) from None
        except smtplib.SMTPNotSupportedError as exc:  # e.g. no STARTTLS offered: a setting to fix, not a retry
            raise RejectedError(f"{where}: {exc}") from None
        except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timeout, TLS handshake
            raise TransientError(f"{where}: {exc!r}") from None
        if refused:  # one recipient only, so a refusal would have raised; kept for safety
            raise RejectedError(f"{where}: recipient refused: {refused!r}")
        return email.message_id

    def _connect(self) -> smtplib.SMTP:
        if self.implicit_tls:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._tls)
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)


def _by_code(where: str, code: int, reply: bytes | str) -> Exception:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    message = f"{where}: {code} {text}"[:500]
    return RejectedError(message) if code >= 500 else TransientError(message)
