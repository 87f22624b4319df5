"""SQLAlchemy 2.0 typed models, one module per aggregate."""

from hookline.models.base import Base
from hookline.models.contacts import Contact
from hookline.models.dead_letters import DeadLetter, DeadLetterStatus
from hookline.models.inbox import EventStatus, WebhookEvent
from hookline.models.messaging import EmailMessage, EmailStatus
from hookline.models.recordings import Recording, RecordingStatus
from hookline.models.reports import ReportMetric
from hookline.models.taskruns import RunState, TaskRun
from hookline.models.tenants import Connection, Tenant
from hookline.models.tokens import ConnectionToken

__all__ = ["Base", "Connection", "ConnectionToken", "Contact", "DeadLetter", "DeadLetterStatus", "EmailMessage",
           "EmailStatus", "EventStatus", "Recording", "RecordingStatus", "ReportMetric", "RunState", "TaskRun", "Tenant",
           "WebhookEvent"]

