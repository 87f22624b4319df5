"""SQLAlchemy 2.0 typed models, one module per aggregate."""

from hookline.models.base import Base
from hookline.models.contacts import Contact
from hookline.models.inbox import EventStatus, WebhookEvent
from hookline.models.messaging import EmailMessage, EmailStatus
from hookline.models.reports import ReportMetric
from hookline.models.sync import SyncRun
from hookline.models.tenants import Connection, Tenant
from hookline.models.tokens import ConnectionToken

__all__ = ["Base", "Connection", "ConnectionToken", "Contact", "EmailMessage", "EmailStatus", "EventStatus",
           "ReportMetric", "SyncRun", "Tenant", "WebhookEvent"]

