"""Declarative base and the column helpers every model shares."""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, MetaData, String, UniqueConstraint, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so Alembic migrations can refer to them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


def tenant_column(*, index: bool = True) -> Mapped[int]:
    """`index=False` where another index of the table already leads with tenant_id."""
    return mapped_column(BigInteger, ForeignKey("tenants.id", ondelete="CASCADE"), index=index)


class SyncedRecord:
    """Columns of a row mirrored from a provider, keyed per tenant by the provider's id.

    `source_version` is the provider's time of the last change applied to the row;
    `deleted_at` makes the row a tombstone, so a late create or update older than the delete
    finds it and is dropped instead of bringing the record back (services/records.py).
    """

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # No index of its own: provider_key() leads with it (migration 0016).
    tenant_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("tenants.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(100))
    source_version: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def provider_key() -> UniqueConstraint:
    """The one key of a synced row: (tenant_id, provider, external_id)."""
    return UniqueConstraint("tenant_id", "provider", "external_id")
