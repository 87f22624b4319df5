"""What Sentry is never sent: values under secret-looking names, the process's configured secrets, tokens in text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import SecretStr

from hookline.config import Settings
from hookline.workers.tenancy import SECRET_WORDS

FILTERED = "[Filtered]"
# Names whose values are masked wherever they appear (task kwargs, extra, breadcrumbs, headers):
# redacted()'s words, and the other names our secrets go by (signing keys, webhook signatures, DSNs).
SECRET_NAMES = (*SECRET_WORDS, "key", "signature", "dsn", "cookie", "auth")
# A bearer token or a JWT inside text (an exception message quoting a header or a response).
TOKEN_TEXT = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+|\beyJ[\w-]+\.[\w-]+\.[\w-]*")
# A secret-named value written out in text: `'api_token': 'tok…'` in a logged message body, `password=…`.
NAMED_TEXT = re.compile(r"(?i)([\w-]*(?:" + "|".join(map(re.escape, SECRET_NAMES)) + r")[\w-]*[\"']?\s*[:=]\s*)"
                        r"(?:([\"'])[^\"']*\2|[^\"'\s,;&}]+)")
# A Fernet key (HOOKLINE_SECRET_KEYS) is 44 characters; shorter secrets are matched by name only
# (replacing every "1234" in an event would mangle it and hide nothing worth hiding).
MIN_KNOWN_LENGTH = 8


def known_secrets(settings: Settings) -> list[str]:
    """Every secret value in `settings` (each of a comma-separated list too), longest first."""
    values: set[str] = set()
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            whole = value.get_secret_value()
            values.update(part.strip() for part in [whole, *whole.split(","), *whole.split(":")])
    return sorted((value for value in values if len(value) >= MIN_KNOWN_LENGTH), key=len, reverse=True)


def secret_named(name: str) -> bool:
    return any(word in name.lower() for word in SECRET_NAMES)


class Scrubber:
    """Sentry's `before_send`: the event with every secret masked (the SDK's own scrubbing runs before it).

    A value under a secret-looking name is masked there, and wherever else the event quotes it
    (a task's `api_token` argument inside its exception's message), as are `known` values."""

    def __init__(self, known: Iterable[str]) -> None:
        self.known = set(known)

    def __call__(self, event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
        found = set(self.known)
        _collect(event, found)
        secrets = sorted((value for value in found if len(value) >= MIN_KNOWN_LENGTH), key=len, reverse=True)
        return _clean(event, secrets)


def _collect(value: Any, found: set[str], name: str = "") -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _collect(item, found, str(key))
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect(item, found)
    elif isinstance(value, str) and name and secret_named(name):
        found.add(value.strip("'\""))  # a repr'd argument is quoted


def _clean(value: Any, secrets: list[str], name: str = "") -> Any:
    if name and secret_named(name) and isinstance(value, (str, int, float, bytes)):
        return FILTERED
    if isinstance(value, dict):
        return {key: _clean(item, secrets, str(key)) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(item, secrets) for item in value]
    if isinstance(value, str):
        value = TOKEN_TEXT.sub(FILTERED, value)
        value = NAMED_TEXT.sub(lambda match: f"{match[1]}{match[2] or ''}{FILTERED}{match[2] or ''}", value)
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, FILTERED)
        return value
    return value
