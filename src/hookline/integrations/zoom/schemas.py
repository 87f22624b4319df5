"""Zoom webhook bodies that name recordings, turned into RemoteRecording; Zoom's quirks stay in here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hookline.integrations.download import RemoteRecording, safe_extension, url_extension


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class RecordingFile(_Model):
    id: str = Field(min_length=1, max_length=200)
    download_url: str = Field(min_length=1)
    file_extension: str | None = None
    file_type: str | None = None
    recording_start: datetime | None = None
    recording_end: datetime | None = None


class Meeting(_Model):
    uuid: str | None = None
    id: str | None = None
    recording_files: list[RecordingFile] = []


class PhoneRecording(_Model):
    id: str = Field(min_length=1, max_length=200)
    download_url: str = Field(min_length=1)
    call_id: str | None = None
    duration: int | None = None
    date_time: datetime | None = None


def _object(payload: dict[str, Any]) -> dict[str, Any]:
    inner = payload.get("payload")
    obj = inner.get("object") if isinstance(inner, dict) else None
    return obj if isinstance(obj, dict) else {}


def download_token(payload: dict[str, Any]) -> str | None:
    """recording.completed's top-level token, valid 24 h, sent as `Authorization: Bearer` on each download_url.

    phone.recording_completed documents none (its download auth is an OAuth scope, UNCONFIRMED);
    when one is present it is used all the same.
    """
    token = payload.get("download_token")
    return token if isinstance(token, str) and token else None


def recordings(event_type: str, payload: dict[str, Any]) -> list[RemoteRecording]:
    """One RemoteRecording per `recording_files[]` (meetings) or `recordings[]` (Zoom Phone) entry.

    Raises pydantic.ValidationError when an entry lacks its id or download_url.
    """
    if event_type == "recording.completed":
        meeting = Meeting.model_validate(_object(payload))
        return [_meeting_file(meeting, file) for file in meeting.recording_files]
    if event_type == "phone.recording_completed":
        entries = _object(payload).get("recordings")
        return [_phone_file(PhoneRecording.model_validate(entry)) for entry in entries or []]
    return []


def _meeting_file(meeting: Meeting, file: RecordingFile) -> RemoteRecording:
    duration = None
    if file.recording_start and file.recording_end:
        duration = max(0, int((file.recording_end - file.recording_start).total_seconds()))
    return RemoteRecording(
        source="zoom", external_id=file.id, url=file.download_url,
        extension=safe_extension(file.file_extension, file.file_type, default="bin"),
        parent_external_id=meeting.uuid or meeting.id, recorded_at=file.recording_start, duration_seconds=duration,
    )


def _phone_file(entry: PhoneRecording) -> RemoteRecording:
    return RemoteRecording(
        source="zoom_phone", external_id=entry.id, url=entry.download_url,
        # Zoom Phone serves MP3 (UNCONFIRMED); a suffix on the URL wins.
        extension=safe_extension(url_extension(entry.download_url), default="mp3"),
        parent_external_id=entry.call_id, recorded_at=entry.date_time, duration_seconds=entry.duration,
    )

