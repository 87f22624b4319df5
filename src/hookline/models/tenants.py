"""Tenants and their connections to external systems (how a webhook finds its tenant)."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hookline.models.base import Base, tenant_column, utcnow_column


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # Email: the From display name (default: the tenant's name) and Reply-To; the From address is
    # the deployment's (HOOKLINE_EMAIL_FROM_ADDRESS), so one verified sender domain serves every tenant.
    email_sender_name: Mapped[str | None] = mapped_column(String(200))
    email_reply_to: Mapped[str | None] = mapped_column(String(320))
    # Changes pushed back to its GoHighLevel (dunning tag, recording notes): `hookline tenants set-pushes`.
    pushes_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = utcnow_column()


class Connection(Base):
    """One tenant's account at one provider, e.g. a GoHighLevel location (account_id = locationId)."""

    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("provider", "account_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = tenant_column()
    provider: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[str] = mapped_column(String(200))
    # Signing secrets and the forms key's hash, each sealed as {"enc": "<Fernet token>"} (secrets_box;
    # services/tenants seals and unseals them); never logged.
    secrets: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    status: Mapped[str] = mapped_column(String(32), default="active", server_default="active")
    created_at: Mapped[datetime] = utcnow_column()
