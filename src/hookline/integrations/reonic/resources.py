"""Reonic REST API v3 objects as typed models (the fields Hookline uses; the rest are kept)."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Read(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Pagination(Read):
    page: int = 1
    per_page: int = Field(default=50, alias="perPage")
    total: int = 0
    total_pages: int = Field(default=1, alias="totalPages")
    next: str | None = None


class Page(Read, Generic[T]):
    data: list[T] = Field(default_factory=list)
    pagination: Pagination = Field(default_factory=Pagination)


class Contact(Read):
    id: str
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    primary_email: str | None = Field(default=None, alias="primaryEmail")
    mobile: str | None = None
    phone: str | None = None
    updated_at: str | None = Field(default=None, alias="updatedAt")


class ResidentialProject(Read):
    id: str
    name: str | None = None
    stage: str | None = None
    customer_contact: dict[str, Any] | None = Field(default=None, alias="customerContact")
    updated_at: str | None = Field(default=None, alias="updatedAt")


class SignatureRequest(Read):
    """An offer sent to the customer for signature (one per sending; no `updatedAt`)."""

    id: str
    project_id: str | None = Field(default=None, alias="projectId")
    status: str | None = None


class Variant(Read):
    """An offer variant of a residential project."""

    id: str


class Note(Read):
    id: str
    parent: dict[str, Any] | None = None


class Activity(Read):
    id: str
    type: str | None = None


class File(Read):
    id: str
    name: str | None = None


ParentType = Literal["contact", "residentialProject", "commercialProject"]
Outcome = Literal["rescheduled", "completedObjectivesMet", "completedPartialProgress", "requiresFollowup", "cancelled",
                  "connectedSuccessfulDiscussion", "connectedNeedsFollowup", "noAnswer", "leftVoicemailMessage",
                  "wrongContact"]
