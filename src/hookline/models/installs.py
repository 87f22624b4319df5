"""GoHighLevel Marketplace installs: agency (Company) installs, their locations, and app-level webhooks.

None of these tables is tenant-owned: an agency install exists before any of its tenants, and
an INSTALL or UNINSTALL webhook may name a location no tenant has yet. A location becomes a
tenant through its `connections` row (`GhlInstallLocation.connection_id`).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hookline.models.base import Base, utcnow_column


class GhlInstall(Base):
    """One agency's bulk install: its Company token (Fernet ciphertext) and the listing's progress.

    `status`: listing (pages of /oauth/installedLocations still to read from `skip`), connected
    (every listed location has a row below), uninstalled (the agency removed the app; token gone).
    """

    __tablename__ = "ghl_installs"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    company_id: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="listing", server_default="listing")
    skip: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    access_token: Mapped[str | None] = mapped_column(Text)
    refresh_token: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    scope: Mapped[str | None] = mapped_column(Text)
    token_status: Mapped[str] = mapped_column(String(32), default="active", server_default="active")
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = utcnow_column()
    updated_at: Mapped[datetime] = utcnow_column()  # the last step taken: a stale `listing` is resumed


class GhlInstallLocation(Base):
    """A location of an agency install: pending (its token not minted yet), connected, failed, uninstalled."""

    __tablename__ = "ghl_install_locations"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    install_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("ghl_installs.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    connection_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("connections.id", ondelete="SET NULL"))
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = utcnow_column()


class GhlAppEvent(Base):
    """An app-level webhook (INSTALL, UNINSTALL): stored before it is answered, like the inbox.

    The inbox (`webhook_events`) is tenant-owned, and these may name no tenant (an agency, or a
    location not connected yet): they get this inbox of their own. `status` as the inbox's.
    """

    __tablename__ = "ghl_app_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    event_type: Mapped[str] = mapped_column(String(100))
    app_id: Mapped[str | None] = mapped_column(String(200))
    company_id: Mapped[str | None] = mapped_column(String(200))
    location_id: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = utcnow_column()
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
