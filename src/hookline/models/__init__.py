"""SQLAlchemy 2.0 typed models, one module per aggregate."""

from hookline.models.base import Base
from hookline.models.contacts import Contact
from hookline.models.inbox import EventStatus, WebhookEvent
from hookline.models.taskruns import RunState, TaskRun
from hookline.models.tenants import Connection, Tenant

__all__ = ["Base", "Connection", "Contact", "EventStatus", "RunState", "TaskRun", "Tenant", "WebhookEvent"]

