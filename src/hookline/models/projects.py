"""Reonic residential projects and the offers sent from them for signature."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hookline.models.base import Base, SyncedRecord, provider_key


class ResidentialProject(SyncedRecord, Base):
    """A Reonic residential project: request, then offer, then installation stage."""

    __tablename__ = "residential_projects"
    __table_args__ = (provider_key(),)

    name: Mapped[str | None] = mapped_column(String(400))
    stage: Mapped[str | None] = mapped_column(String(32))  # request, offer, installation
    contact_external_id: Mapped[str | None] = mapped_column(String(100), index=True)
    customer_number: Mapped[str | None] = mapped_column(String(100))
    kanban_board_id: Mapped[str | None] = mapped_column(String(100))
    kanban_column_id: Mapped[str | None] = mapped_column(String(100))
    lead_source_id: Mapped[str | None] = mapped_column(String(100))
    key_account_manager_id: Mapped[str | None] = mapped_column(String(100))
    tag_ids: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    deal_state: Mapped[str | None] = mapped_column(String(16))  # Open, Won, Lost (from the offer stage on)
    deal_decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lost_reason: Mapped[str | None] = mapped_column(String(100))
    primary_variant_id: Mapped[str | None] = mapped_column(String(100))
    total_price: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))  # the primary variant's, with VAT
    address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    project_created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ResidentialOffer(SyncedRecord, Base):
    """An offer sent to the customer for signature (Reonic's signature request), keyed by its id."""

    __tablename__ = "residential_offers"
    __table_args__ = (provider_key(),)

    project_external_id: Mapped[str | None] = mapped_column(String(100), index=True)
    # awaitingSignature, signed, expired, withdrawn, revokedByCustomer
    status: Mapped[str | None] = mapped_column(String(32))
    variant_ids: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    signed_variant_id: Mapped[str | None] = mapped_column(String(100))
    signed_payment_option_id: Mapped[str | None] = mapped_column(String(100))
    requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
