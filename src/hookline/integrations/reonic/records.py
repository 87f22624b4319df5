"""Reonic v3 objects that Hookline mirrors (contacts, residential projects, signature requests),
as typed models in Hookline's column names. Reonic webhooks carry ids only: these are what the
API returns for them. Reonic quirks stay in here.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from hookline.integrations.fields import Id, Instant


class ReonicRecord(BaseModel):
    """One object as GET /<resource>/{id} returns it: an id, its fields, when it last changed."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    RECORD: ClassVar[str]  # the record kind services/crm.py applies it as

    id: Id

    @property
    def version(self) -> datetime:
        raise NotImplementedError

    @property
    def deleted_at(self) -> datetime | None:
        return None

    def values(self) -> dict[str, Any]:
        raise NotImplementedError


class Address(BaseModel):
    street: str | None = None
    house_number: str | None = Field(default=None, alias="houseNumber")
    postcode: str | None = None
    city: str | None = None
    country: str | None = None

    @property
    def line(self) -> str | None:
        return " ".join(part for part in (self.street, self.house_number) if part) or None


class ReonicContact(ReonicRecord):
    RECORD: ClassVar[str] = "contact"

    full_name: str | None = Field(default=None, alias="fullName")
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    primary_email: str | None = Field(default=None, alias="primaryEmail")
    mobile: str | None = None
    phone: str | None = None
    address: Address | None = None
    updated_at: Instant = Field(alias="updatedAt")
    deleted: Instant | None = Field(default=None, alias="deletedAt")

    @property
    def version(self) -> datetime:
        return self.updated_at

    @property
    def deleted_at(self) -> datetime | None:
        return self.deleted

    def values(self) -> dict[str, Any]:
        address = self.address or Address()
        return {"name": self.full_name, "first_name": self.first_name, "last_name": self.last_name,
                "email": self.primary_email, "phone": self.mobile or self.phone,  # one number: the mobile first
                "address1": address.line, "postal_code": address.postcode, "city": address.city,
                "country": address.country}


class Deal(BaseModel):
    state: str | None = None
    decided_at: Instant | None = Field(default=None, alias="decidedAt")
    lost_reason: str | None = Field(default=None, alias="lostReason")


class Variant(BaseModel):
    id: Id
    components_total_price: Decimal | None = Field(default=None, alias="componentsTotalPrice")
    total_price_override: Decimal | None = Field(default=None, alias="totalPriceOverride")


class Reference(BaseModel):
    id: Id


class ResidentialProject(ReonicRecord):
    RECORD: ClassVar[str] = "project"

    name: str | None = None
    stage: str | None = None
    customer_contact: Reference | None = Field(default=None, alias="customerContact")
    customer_number: str | None = Field(default=None, alias="customerNumber")
    kanban_board_id: str | None = Field(default=None, alias="kanbanBoardId")
    kanban_column_id: str | None = Field(default=None, alias="kanbanColumnId")
    lead_source_id: str | None = Field(default=None, alias="leadSourceId")
    key_account_manager_id: str | None = Field(default=None, alias="keyAccountManagerId")
    tag_ids: list[str] = Field(default_factory=list, alias="tagIds")
    deal: Deal | None = None
    primary_offer_variant: Variant | None = Field(default=None, alias="primaryOfferVariant")
    address: Address | None = None
    project_created_at: Instant | None = Field(default=None, alias="projectCreatedAt")
    archived_at: Instant | None = Field(default=None, alias="archivedAt")
    updated_at: Instant = Field(alias="updatedAt")

    @property
    def version(self) -> datetime:
        return self.updated_at

    def values(self) -> dict[str, Any]:
        deal, variant = self.deal or Deal(), self.primary_offer_variant
        return {
            **self.model_dump(include={"name", "stage", "customer_number", "kanban_board_id", "kanban_column_id",
                                       "lead_source_id", "key_account_manager_id", "tag_ids", "project_created_at",
                                       "archived_at"}),
            "contact_external_id": self.customer_contact.id if self.customer_contact else None,
            "deal_state": deal.state, "deal_decided_at": deal.decided_at, "lost_reason": deal.lost_reason,
            "primary_variant_id": variant.id if variant else None,
            # The override, when set, is the agreed price (Reonic: it takes precedence).
            "total_price": (variant.total_price_override if variant.total_price_override is not None
                            else variant.components_total_price) if variant else None,
            "address": self.address.model_dump(by_alias=True) if self.address else None,
        }


class OfferDocument(BaseModel):
    variant_id: str = Field(alias="variantId")


class SignatureRequest(ReonicRecord):
    """An offer sent for signature. It has no `updatedAt`: its version is its latest state change."""

    RECORD: ClassVar[str] = "offer"

    project_id: str | None = Field(default=None, alias="projectId")
    status: str | None = None
    offer_documents: list[OfferDocument] = Field(default_factory=list, alias="offerDocuments")
    signed_variant_id: str | None = Field(default=None, alias="signedVariantId")
    signed_payment_option_id: str | None = Field(default=None, alias="signedPaymentOptionId")
    created_at: Instant = Field(alias="createdAt")
    expires_at: Instant | None = Field(default=None, alias="expiresAt")
    signed_at: Instant | None = Field(default=None, alias="signedAt")
    withdrawn_at: Instant | None = Field(default=None, alias="withdrawnAt")
    revoked_at: Instant | None = Field(default=None, alias="revokedByCustomerAt")

    @property
    def version(self) -> datetime:
        changes = [self.created_at, self.signed_at, self.withdrawn_at, self.revoked_at]
        if self.status == "expired":  # it expired at expiresAt; nothing else records when
            changes.append(self.expires_at)
        return max(moment for moment in changes if moment)

    def values(self) -> dict[str, Any]:
        return {
            **self.model_dump(include={"status", "signed_variant_id", "signed_payment_option_id", "expires_at",
                                       "signed_at", "withdrawn_at", "revoked_at"}),
            "project_external_id": self.project_id, "requested_at": self.created_at,
            "variant_ids": list(dict.fromkeys(document.variant_id for document in self.offer_documents)),
        }
