"""SQLAlchemy 2.0 typed models, one module per aggregate."""

from hookline.models.base import Base
from hookline.models.contacts import Contact
from hookline.models.dead_letters import DeadLetter, DeadLetterStatus
from hookline.models.inbox import EventStatus, WebhookEvent
from hookline.models.tenants import Connection, Tenant

__all__ = ["Base", "Connection", "Contact", "DeadLetter", "DeadLetterStatus", "EventStatus", "Tenant", "WebhookEvent"]

