"""API credentials per connection: stored encrypted, loaded decrypted, marked `needs_reauth` when refused."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from hookline.db import tenant_session
from hookline.integrations.auth import TokenSet
from hookline.integrations.errors import AuthExpired
from hookline.models import ConnectionToken
from hookline.secrets_box import SecretBoxError, reseal, seal, unseal

__all__ = ["DatabaseTokenStore", "SecretBoxError", "find", "load", "mark_needs_reauth", "reencrypt", "store"]

NEEDS_REAUTH = "needs_reauth"


def store(session: Session, tenant_id: int, connection_id: int, kind: str, tokens: TokenSet) -> None:
    """Insert or replace a connection's credentials (encrypted) and make it active again."""
    expires = datetime.fromtimestamp(tokens.expires_at, UTC) if tokens.expires_at else None
    row = {"kind": kind, "access_token": seal(tokens.access_token), "expires_at": expires, "scope": tokens.scope,
           "refresh_token": seal(tokens.refresh_token) if tokens.refresh_token else None,
           "status": "active", "status_reason": None, "refreshed_at": func.now()}
    statement = insert(ConnectionToken).values(connection_id=connection_id, tenant_id=tenant_id, **row)
    session.execute(statement.on_conflict_do_update(index_elements=[ConnectionToken.connection_id], set_=row,
                                                    where=ConnectionToken.tenant_id == tenant_id))


def find(session: Session, tenant_id: int, connection_id: int) -> ConnectionToken | None:
    return session.scalars(select(ConnectionToken).where(ConnectionToken.tenant_id == tenant_id,
                                                         ConnectionToken.connection_id == connection_id)).one_or_none()


def load(session: Session, tenant_id: int, connection_id: int) -> TokenSet:
    """The decrypted credentials; AuthExpired if there are none or the connection needs reconnecting."""
    row = find(session, tenant_id, connection_id)
    if row is None:
        raise AuthExpired(f"connection {connection_id} has no API credentials; connect it first")
    if row.status == NEEDS_REAUTH:
        raise AuthExpired(f"connection {connection_id} needs to be reconnected ({row.status_reason})")
    return TokenSet(unseal(row.access_token), unseal(row.refresh_token) if row.refresh_token else None,
                    row.expires_at.timestamp() if row.expires_at else None, row.scope)


def mark_needs_reauth(session: Session, tenant_id: int, connection_id: int, reason: str) -> None:
    row = find(session, tenant_id, connection_id)
    if row is not None:
        row.status, row.status_reason = NEEDS_REAUTH, reason[:200]


def reencrypt(session: Session, tenant_id: int) -> int:
    """Re-encrypt a tenant's stored tokens under the newest key (after a key rotation); returns rows."""
    rows = session.scalars(select(ConnectionToken).where(ConnectionToken.tenant_id == tenant_id)).all()
    for row in rows:
        row.access_token = reseal(row.access_token)
        if row.refresh_token:
            row.refresh_token = reseal(row.refresh_token)
    return len(rows)


class DatabaseTokenStore:
    """The TokenStore of one connection. Each call is its own committed transaction, on purpose:
    a rotated refresh token must be durable before the new access token is used."""

    def __init__(self, tenant_id: int, connection_id: int, kind: str) -> None:
        self.tenant_id, self.connection_id, self.kind = tenant_id, connection_id, kind

    def load(self) -> TokenSet:
        with tenant_session(self.tenant_id) as session:
            return load(session, self.tenant_id, self.connection_id)

    def save(self, tokens: TokenSet) -> None:
        with tenant_session(self.tenant_id) as session:
            store(session, self.tenant_id, self.connection_id, self.kind, tokens)

    def mark_needs_reauth(self, reason: str) -> None:
        with tenant_session(self.tenant_id) as session:
            mark_needs_reauth(session, self.tenant_id, self.connection_id, reason)
