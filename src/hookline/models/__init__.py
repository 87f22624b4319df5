"""SQLAlchemy 2.0 typed models, one module per aggregate."""

from hookline.models.activities import CrmTask, Note
from hookline.models.appointments import Appointment, Calendar
from hookline.models.base import Base
from hookline.models.billing import (
    Customer,
    DunningAttempt,
    DunningPolicy,
    Invoice,
    InvoiceStatus,
    Payment,
    Subscription,
)
from hookline.models.console import AuditEntry, ReplayJob
from hookline.models.contacts import Contact
from hookline.models.dead_letters import DeadLetter, DeadLetterStatus
from hookline.models.deals import Deal, Pipeline, PipelineStage
from hookline.models.inbox import EventStatus, WebhookEvent
from hookline.models.installs import GhlAppEvent, GhlInstall, GhlInstallLocation
from hookline.models.messaging import EmailMessage, EmailStatus
from hookline.models.projects import ResidentialOffer, ResidentialProject
from hookline.models.pushes import CrmPush
from hookline.models.recordings import Recording, RecordingStatus
from hookline.models.reports import ReportMetric
from hookline.models.scheduling import BeatRun, ScheduledRun
from hookline.models.sync import SyncRun
from hookline.models.taskruns import RunState, TaskRun
from hookline.models.tenants import Connection, Tenant
from hookline.models.tokens import ConnectionToken

__all__ = [
    "Appointment", "AuditEntry", "Base", "BeatRun", "Calendar", "Connection", "ConnectionToken", "Contact", "CrmPush",
    "CrmTask", "Customer", "DeadLetter", "DeadLetterStatus", "Deal", "DunningAttempt", "DunningPolicy", "EmailMessage",
    "EmailStatus", "EventStatus", "GhlAppEvent", "GhlInstall", "GhlInstallLocation", "Invoice", "InvoiceStatus", "Note",
    "Payment", "Pipeline", "PipelineStage", "Recording", "RecordingStatus", "ReplayJob", "ReportMetric",
    "ResidentialOffer", "ResidentialProject", "RunState", "ScheduledRun",
    "Subscription", "SyncRun", "TaskRun", "Tenant", "WebhookEvent",
]
