"""Credentials for calling a provider's API, one row per connection, encrypted at rest."""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hookline.models.base import Base, tenant_column, utcnow_column


class ConnectionToken(Base):
    """OAuth tokens (GoHighLevel), a private-integration token or an API key (Reonic).

    Kept out of `connections.secrets`: the ingress reads (and caches) that row for every webhook
    and has no business holding API tokens, a daily refresh would rewrite it, and this table is
    tenant-owned, so row-level security covers it. Token columns hold Fernet ciphertext only.
    `status = needs_reauth` stops every call until an operator reconnects; the connection itself
    stays active, so its webhooks keep arriving.
    """

    __tablename__ = "connection_tokens"

    connection_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("connections.id", ondelete="CASCADE"),
                                               primary_key=True)
    tenant_id: Mapped[int] = tenant_column()
    kind: Mapped[str] = mapped_column(String(16))  # oauth | private | api_key
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    scope: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32), default="active", server_default="active")
    status_reason: Mapped[str | None] = mapped_column(String(200))
    refreshed_at: Mapped[datetime] = utcnow_column()
