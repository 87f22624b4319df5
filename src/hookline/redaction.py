"""What an operator may see of a stored payload: one rule for `hookline events show` and the console.

Values under secret-looking names (the names Sentry scrubbing masks) and under personal-data names
(a person's name, email, phone, address, birth date, IP) are replaced; tokens written out in text
are too. Ids, types, times and amounts stay: they are what an operator needs to follow an event.
"""

from __future__ import annotations

import re
from typing import Any

from hookline.telemetry.scrub import NAMED_TEXT, TOKEN_TEXT, secret_named

REDACTED = "[redacted]"
# Compared with the key lower-cased and without "_", "-" or spaces: firstName, first_name, first-name.
PERSONAL_NAMES = frozenset({
    "name", "fullname", "firstname", "lastname", "contactname", "username", "companyname",
    "address", "address1", "address2", "street", "streetaddress", "city", "postalcode", "zip", "zipcode",
    "dateofbirth", "birthday", "birthdate", "ip", "ipaddress", "iban", "taxid", "vatid",
})
# Any key containing one of these is personal too: email, emailAddress, phone, mobilePhone, phoneNumber.
PERSONAL_PARTS = ("email", "phone", "mobile")
_SEPARATORS = re.compile(r"[\s_-]")


def personal_named(name: str) -> bool:
    key = _SEPARATORS.sub("", name.lower())
    return key in PERSONAL_NAMES or any(part in key for part in PERSONAL_PARTS)


def redact(value: Any, name: str = "") -> Any:
    """`value` (a decoded JSON document) with secrets and personal fields masked; the input is not changed."""
    if name and (secret_named(name) or personal_named(name)) and not isinstance(value, (dict, list, bool)) \
            and value is not None:
        return REDACTED
    if isinstance(value, dict):
        return {key: redact(item, str(key)) for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item, name) for item in value]
    if isinstance(value, str):
        value = TOKEN_TEXT.sub(REDACTED, value)
        return NAMED_TEXT.sub(lambda match: f"{match[1]}{match[2] or ''}{REDACTED}{match[2] or ''}", value)
    return value
