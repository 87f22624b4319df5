"""The embedded default's GoHighLevel signing key: `hookline dev` trusts it, `hookline webhooks send` signs with it.

Only without HOOKLINE_DATABASE_URL (the embedded default): a deployment never makes, reads or
trusts this key. The private key stays in the var dir; `hookline dev` gives its processes the
public key as HOOKLINE_GHL_WEBHOOK_ED25519_PUBLIC_KEY, unless a key of your own is set there.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, load_pem_private_key

from hookline.config import Settings, get_settings
from hookline.integrations.ghl.keys import pem
from hookline.services.ghl_webhooks import KEY_SETTING

KEY_FILE = "ghl-dev-webhook-key.pem"


def trust(settings: Settings) -> Path | None:
    """Under the embedded default: make the key once and export its public key for dev's processes.

    Returns the key's path, or None in a deployment (a database URL is set), where nothing is made or trusted.
    """
    if settings.database_url is not None:
        return None
    path = settings.var_dir.resolve() / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    if settings.ghl_webhook_ed25519_public_key is None:  # a key of your own (a real app's, via a tunnel) wins
        os.environ[KEY_SETTING] = public_pem(load(path))
        get_settings.cache_clear()
    return path


def load(path: Path) -> Ed25519PrivateKey:
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} holds no Ed25519 private key")
    return key


def public_pem(key: Ed25519PrivateKey) -> str:
    return pem(key.public_key())
