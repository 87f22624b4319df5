"""The console's users and roles, from HOOKLINE_CONSOLE_USERS; passwords checked against argon2 hashes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

VIEWER, OPERATOR = "viewer", "operator"
ROLES = (VIEWER, OPERATOR)
# An argon2 hash has commas of its own ($m=65536,t=3,p=4$): a new user starts only where a comma
# is followed by "name:role:".
_ENTRY_START = re.compile(r",(?=\s*[\w.@-]+:(?:" + "|".join(ROLES) + r"):)")
_hasher = PasswordHasher()


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str

    @property
    def may_act(self) -> bool:
        """Replay, discard, start syncs and bulk replays: operators only."""
        return self.role == OPERATOR


def parse_users(value: str) -> dict[str, User]:
    """Users by name; ValueError names the bad entry by position, never its hash."""
    users: dict[str, User] = {}
    for position, entry in enumerate(_ENTRY_START.split(value.strip()), 1):
        name, _, rest = entry.strip().partition(":")
        role, _, password_hash = rest.partition(":")
        if not name or role not in ROLES or not password_hash.startswith("$argon2"):
            raise ValueError(f"entry {position} must be name:role:argon2-hash with role viewer or operator "
                             "(make the hash with `hookline console hash-password`)")
        if name in users:
            raise ValueError(f"entry {position}: user {name!r} is named twice")
        users[name] = User(name, role, password_hash)
    return users


def hash_password(password: str) -> str:
    return _hasher.hash(password)


# Checked when the user is unknown too, so the answer takes as long as for a known user.
_UNKNOWN = hash_password("not a user")


def authenticate(users: dict[str, User], name: str, password: str) -> User | None:
    """The user, if `password` is theirs; None otherwise (unknown name or wrong password alike)."""
    user = users.get(name)
    try:
        _hasher.verify(user.password_hash if user else _UNKNOWN, password)
    except (VerificationError, InvalidHashError):
        return None
    return user
