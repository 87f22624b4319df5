"""SQLAlchemy 2.0 typed models, one module per aggregate."""

from hookline.models.base import Base
from hookline.models.billing import (Customer, DunningAttempt, DunningPolicy, Invoice, InvoiceStatus, Payment,
                                     Subscription)
from hookline.models.contacts import Contact
from hookline.models.inbox import EventStatus, WebhookEvent
from hookline.models.messaging import EmailMessage, EmailStatus
from hookline.models.scheduling import BeatRun, ScheduledRun
from hookline.models.tenants import Connection, Tenant

__all__ = ["Base", "BeatRun", "Connection", "Contact", "Customer", "DunningAttempt", "DunningPolicy", "EmailMessage",
           "EmailStatus", "EventStatus", "Invoice", "InvoiceStatus", "Payment", "ScheduledRun", "Subscription",
           "Tenant", "WebhookEvent"]
