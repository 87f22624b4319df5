"""Recordings: register the files a webhook names (once each), then track their upload to storage."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from hookline.integrations.download import RemoteRecording
from hookline.integrations.ghl.schemas import MessageEvent
from hookline.integrations.storage import StoredObject
from hookline.integrations.zoom import schemas as zoom
from hookline.models import Recording, RecordingStatus

# Registering again (an operator's replay) refreshes these on a row not stored yet, and a failed
# row becomes pending again: a replayed Zoom event brings a fresh download token.
RETRYABLE = (RecordingStatus.PENDING.value, RecordingStatus.FAILED.value)


def object_key(tenant_id: int, recording_id: int, extension: str, when: datetime) -> str:
    """`{tenant}/recordings/{yyyy}/{mm}/{id}.{ext}`: fixed once the row exists, so a retry overwrites, never adds."""
    return f"{tenant_id}/recordings/{when:%Y}/{when:%m}/{recording_id}.{extension}"


def register(session: Session, tenant_id: int, files: list[RemoteRecording], *, token: str | None = None) -> list[int]:
    """Insert a row per file unless (tenant, source, external id) exists; safe to run twice.

    Returns the ids of rows that need an upload: new ones, and existing ones still pending or failed.
    """
    ids: list[int] = []
    for file in files:
        recording_id = session.execute(text("SELECT nextval('recordings_id_seq')")).scalar_one()
        when = file.recorded_at or datetime.now(timezone.utc)
        statement = insert(Recording).values(
            id=recording_id, tenant_id=tenant_id, source=file.source, external_id=file.external_id,
            parent_external_id=file.parent_external_id, source_url=file.url, source_token=token,
            status=RecordingStatus.PENDING.value, extension=file.extension,
            object_key=object_key(tenant_id, recording_id, file.extension, when.astimezone(timezone.utc)),
            duration_seconds=file.duration_seconds, recorded_at=file.recorded_at,
            contact_external_id=file.contact_external_id, appointment_external_id=file.appointment_external_id,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[Recording.tenant_id, Recording.source, Recording.external_id],
            set_={"source_url": statement.excluded.source_url, "source_token": statement.excluded.source_token,
                  "status": RecordingStatus.PENDING.value, "last_error": None, "updated_at": func.now()},
            where=Recording.status.in_(RETRYABLE),
        )
        ids.extend(session.scalars(statement.returning(Recording.id)))
    return ids


def register_from_ghl_message(session: Session, tenant_id: int, payload: dict[str, Any], *,
                              token: str | None = None) -> list[int]:
    """InboundMessage / OutboundMessage: a row per recording URL of a call; nothing for other types.

    `token`: a bearer token for the download, when the URLs need one (GoHighLevel's attachment
    URLs are fetched without one today). Raises pydantic.ValidationError for a body that does not parse.
    """
    return register(session, tenant_id, MessageEvent.model_validate(payload).recordings(), token=token)


def register_from_zoom_event(session: Session, tenant_id: int, event_type: str, payload: dict[str, Any]) -> list[int]:
    """recording.completed / phone.recording_completed: a row per file, with the event's download token."""
    return register(session, tenant_id, zoom.recordings(event_type, payload), token=zoom.download_token(payload))


def get(session: Session, tenant_id: int, recording_id: int) -> Recording | None:
    return session.scalars(
        select(Recording).where(Recording.tenant_id == tenant_id, Recording.id == recording_id)
    ).one_or_none()


def start_upload(session: Session, tenant_id: int, recording_id: int) -> Recording | None:
    """Mark the recording uploading (one more attempt), or None when it is stored, failed or gone.

    `uploading` is taken too: that is a worker that died mid-upload, and this is its redelivery.
    """
    recording = session.scalars(
        select(Recording)
        .where(Recording.tenant_id == tenant_id, Recording.id == recording_id,
               Recording.status.in_((RecordingStatus.PENDING.value, RecordingStatus.UPLOADING.value)))
        .with_for_update()
    ).one_or_none()
    if recording is not None:
        recording.status = RecordingStatus.UPLOADING.value
        recording.attempts += 1
    return recording


def take_idle(session: Session, tenant_id: int, *, pending_for: timedelta, uploading_for: timedelta,
              limit: int) -> list[int]:
    """Ids of recordings pending longer than `pending_for` or uploading longer than `uploading_for`
    with nothing happening to them, stamped now (so the next sweep waits again), locked for this transaction.

    Pending and idle: the worker that registered them died before publishing their uploads, or
    the broker lost the message. Uploading and idle past the upload's hard time limit: no live
    worker is on it. Publishing the upload again is safe: it takes the row and overwrites one key.
    """
    idle = (
        (Recording.status == RecordingStatus.PENDING.value) & (Recording.updated_at < func.now() - pending_for)
    ) | ((Recording.status == RecordingStatus.UPLOADING.value) & (Recording.updated_at < func.now() - uploading_for))
    ids = list(session.scalars(
        select(Recording.id).where(Recording.tenant_id == tenant_id, idle)
        .order_by(Recording.updated_at).limit(limit).with_for_update(skip_locked=True)  # locked: being handled
    ))
    if ids:
        session.execute(update(Recording).where(Recording.tenant_id == tenant_id, Recording.id.in_(ids))
                        .values(updated_at=func.now()))
    return ids


def reset_for_retry(session: Session, tenant_id: int, recording_id: int) -> str | None:
    """Make a failed or pending recording pending again (attempts kept); returns its status before, None if absent."""
    recording = session.scalars(
        select(Recording).where(Recording.tenant_id == tenant_id, Recording.id == recording_id).with_for_update()
    ).one_or_none()
    if recording is None:
        return None
    before = recording.status
    if before in RETRYABLE:
        recording.status, recording.last_error = RecordingStatus.PENDING.value, None
    return before


def _finish(session: Session, tenant_id: int, recording_id: int, **values: Any) -> None:
    session.execute(update(Recording).where(Recording.tenant_id == tenant_id, Recording.id == recording_id).values(**values))


def mark_stored(session: Session, tenant_id: int, recording_id: int, stored: StoredObject, content_type: str) -> None:
    """Only after the object is complete and checked: a stored row never points at a partial object."""
    _finish(session, tenant_id, recording_id, status=RecordingStatus.STORED.value, object_key=stored.key,
            size_bytes=stored.size, sha256=stored.sha256, content_type=content_type, stored_at=func.now(),
            last_error=None, source_token=None)


def mark_failed(session: Session, tenant_id: int, recording_id: int, error: str) -> None:
    """For good: the source refused, or retries ran out. The token is dropped; a replay brings a new one."""
    _finish(session, tenant_id, recording_id, status=RecordingStatus.FAILED.value, last_error=error[:2000],
            source_token=None)


def mark_retrying(session: Session, tenant_id: int, recording_id: int, error: str) -> None:
    _finish(session, tenant_id, recording_id, status=RecordingStatus.PENDING.value, last_error=error[:2000])


def recent(session: Session, tenant_id: int, *, status: str | None = None, limit: int = 50) -> list[Recording]:
    statement = select(Recording).where(Recording.tenant_id == tenant_id)
    if status is not None:
        statement = statement.where(Recording.status == status)
    return list(session.scalars(statement.order_by(Recording.id.desc()).limit(limit)))
