"""Whether GoHighLevel's webhooks can be verified here: what /readyz, `hookline status` and the ingress's start say."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from hookline.config import ENV_PREFIX, Settings
from hookline.models import Connection

KEY_SETTING = f"{ENV_PREFIX}GHL_WEBHOOK_ED25519_PUBLIC_KEY"
KEY_MISSING = (f"{KEY_SETTING} is not set: GoHighLevel's Ed25519 signatures cannot be checked, so every "
               "GoHighLevel delivery is refused (401); set it to the Marketplace app's webhook public key")


def signature_problem(session: Session, settings: Settings) -> str | None:
    """KEY_MISSING when no Ed25519 key is set and some tenant is connected to GoHighLevel, else None.

    Without a connection, refusing GoHighLevel is no loss (a deployment without it needs no key).
    Across tenants on purpose: this is the operator's view of the whole deployment.
    """
    if settings.ghl_webhook_ed25519_public_key:
        return None
    connected = session.scalar(select(exists().where(Connection.provider == "ghl", Connection.status == "active")))
    return KEY_MISSING if connected else None
