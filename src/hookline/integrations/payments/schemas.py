"""Stripe-style payment events as typed models; amounts come in minor units (cents) as integers.

Only the fields dunning reads: `invoice.paid` and `invoice.payment_failed` carry an invoice
object, `charge.refunded` a charge whose `amount_refunded` is the running total refunded.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

# ISO 4217 currencies without a minor unit (Stripe's "zero-decimal currencies"); the rest have two.
# (Stripe's few three-decimal currencies, BHD/JOD/KWD/OMR/TND, are quoted in thousandths.)
ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
                          "XAF", "XOF", "XPF"})
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


def decimal_places(currency: str) -> int:
    code = currency.upper()
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2


def from_minor_units(amount: int, currency: str) -> Decimal:
    """12900 EUR cents → Decimal('129.00'); exact, no float on the way."""
    return Decimal(amount).scaleb(-decimal_places(currency))


class _Object(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1, max_length=200)
    currency: str = Field(min_length=3, max_length=3)


class StripeInvoice(_Object):
    amount_due: int = Field(ge=0)
    amount_paid: int = Field(default=0, ge=0)


class StripeCharge(_Object):
    amount_refunded: int = Field(ge=0)
    invoice: str | None = Field(default=None, max_length=200)


class _InvoiceData(BaseModel):
    object: StripeInvoice


class _ChargeData(BaseModel):
    object: StripeCharge


class InvoiceEvent(BaseModel):
    """invoice.paid / invoice.payment_failed."""

    model_config = ConfigDict(extra="allow")

    id: str
    type: str
    data: _InvoiceData


class ChargeEvent(BaseModel):
    """charge.refunded (a charge paid for an invoice; `invoice` names it)."""

    model_config = ConfigDict(extra="allow")

    id: str
    type: str
    data: _ChargeData
