"""Credentials encrypted at rest: Fernet (AES-CBC + HMAC-SHA256) under MultiFernet, so keys rotate.

HOOKLINE_SECRET_KEYS is a comma-separated list of Fernet keys: the first encrypts, all decrypt.
Rotation: put a new key first, run `hookline credentials reencrypt`, then drop the old key. Every
process that seals or opens credentials refuses to start without the setting (`require_keys`):
a key of its own would seal what no other host can open. Only the embedded default makes one,
once, in var/secret-key, and hands it to its processes through the setting (embedded.fill_in).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import structlog
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from hookline.config import ENV_PREFIX, ConfigError, Settings, get_settings

log = structlog.get_logger(__name__)


class SecretBoxError(Exception):
    """A stored secret cannot be decrypted with any configured key (never includes the secret)."""


def parse_keys(value: str) -> list[Fernet]:
    """Fernet keys from a comma-separated list; ValueError names the bad position, not the key."""
    keys = [part.strip() for part in value.split(",") if part.strip()]
    if not keys:
        raise ValueError("no key given")
    fernets = []
    for position, key in enumerate(keys, 1):
        try:
            fernets.append(Fernet(key.encode()))
        except (ValueError, TypeError):
            raise ValueError(f"key {position} is not a Fernet key (32 url-safe base64 bytes)") from None
    return fernets


# The embedded default's key, in the var dir.
SECRET_KEY_FILE = "secret-key"


def dev_key(var_dir: Path) -> str:
    """The embedded default's key, made on first use and readable by the owner only."""
    path = var_dir / SECRET_KEY_FILE
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(Fernet.generate_key().decode())
        log.warning("secrets.dev_key_created", path=str(path))
    return path.read_text().strip()


def require_keys(settings: Settings) -> str:
    """The configured keys, or ConfigError saying why a process that seals or opens credentials needs them."""
    if settings.secret_keys is None:
        raise ConfigError(
            f"{ENV_PREFIX}SECRET_KEYS is not set: credentials are stored encrypted with it, and every host "
            "must have the same keys, or what one host stores no other can read. Make a key with "
            f"`hookline credentials new-key` and set {ENV_PREFIX}SECRET_KEYS to it for every process "
            "(only `hookline dev` with its embedded database makes its own, in var/secret-key)")
    return settings.secret_keys.get_secret_value()


@lru_cache(maxsize=1)
def get_box() -> MultiFernet:
    return MultiFernet(parse_keys(require_keys(get_settings())))


def seal(plaintext: str) -> str:
    """Ciphertext (url-safe text, with a timestamp and a MAC) of `plaintext` under the first key."""
    return get_box().encrypt(plaintext.encode()).decode()


def unseal(ciphertext: str) -> str:
    try:
        return get_box().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretBoxError("a stored secret does not decrypt with any key in HOOKLINE_SECRET_KEYS") from None


def unseal_fresh(ciphertext: str, max_age: int) -> str:
    """Like unseal, for a value sealed at most `max_age` seconds ago (Fernet's own timestamp and MAC)."""
    try:
        return get_box().decrypt(ciphertext.encode(), ttl=max_age).decode()
    except (InvalidToken, TypeError, ValueError):
        raise SecretBoxError("the value is forged, expired, or sealed under a key no longer configured") from None


def reseal(ciphertext: str) -> str:
    """The same secret encrypted under the first (newest) key."""
    try:
        return get_box().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretBoxError("a stored secret does not decrypt with any key in HOOKLINE_SECRET_KEYS") from None


# A sealed value inside a JSON object (connections.secrets): {"enc": "<Fernet token>"}. The mark
# tells sealed values from plaintext ones written before encryption at rest (migration 0015).
SEALED = "enc"


def is_sealed(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {SEALED} and isinstance(value[SEALED], str)


def seal_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Every string value sealed as {"enc": token}; values sealed already are kept as they are."""
    sealed = {}
    for name, value in values.items():
        if not is_sealed(value) and not isinstance(value, str):
            raise TypeError(f"secret {name!r} is not a string")
        sealed[name] = value if is_sealed(value) else {SEALED: seal(value)}
    return sealed


def unseal_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The plaintext of every sealed value (a plaintext value not yet migrated passes as it is)."""
    return {name: unseal(value[SEALED]) if is_sealed(value) else value for name, value in values.items()}


def reseal_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Every value sealed under the first (newest) key; plaintext ones get sealed on the way."""
    return {name: {SEALED: reseal(value[SEALED])} if is_sealed(value) else seal_values({name: value})[name]
            for name, value in values.items()}
