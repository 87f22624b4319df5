"""SQLAlchemy 2.0 typed models, one module per aggregate."""

from hookline.models.activities import CrmTask, Note
from hookline.models.appointments import Appointment, Calendar
from hookline.models.base import Base
from hookline.models.contacts import Contact
from hookline.models.deals import Deal, Pipeline, PipelineStage
from hookline.models.inbox import EventStatus, WebhookEvent
from hookline.models.projects import ResidentialOffer, ResidentialProject
from hookline.models.tenants import Connection, Tenant

__all__ = [
    "Appointment", "Base", "Calendar", "Connection", "Contact", "CrmTask", "Deal", "EventStatus", "Note", "Pipeline",
    "PipelineStage", "ResidentialOffer", "ResidentialProject", "Tenant", "WebhookEvent",
]
