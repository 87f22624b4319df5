"""The embedded default: each message written as an .eml file under var/mail, readable by any mail client."""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path

from hookline.integrations.email import OutgoingEmail
from hookline.integrations.email.mime import to_mime


class FileTransport:
    name = "file"

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def send(self, email: OutgoingEmail) -> str:
        """Write the message atomically (temporary file, then rename); the file name is the id."""
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        # Sorted by time; a replayed message gets a file of its own rather than replacing the first.
        name = f"{stamp}-{re.sub(r'[^A-Za-z0-9.-]+', '_', email.message_id.strip('<>'))}-{uuid.uuid4().hex[:8]}.eml"
        descriptor, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(descriptor, "wb") as out:
            out.write(to_mime(email).as_bytes())
        os.replace(temporary, self.directory / name)
        return name
