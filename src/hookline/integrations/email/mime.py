"""An OutgoingEmail as a MIME message (text and HTML alternatives), for SMTP and .eml files."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate

from hookline.integrations.email import OutgoingEmail


def to_mime(email: OutgoingEmail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = email.sender
    message["To"] = email.to
    if email.reply_to:
        message["Reply-To"] = email.reply_to
    message["Subject"] = email.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = email.message_id
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message
