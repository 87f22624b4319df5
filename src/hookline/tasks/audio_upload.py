"""Tasks on the audio_upload queue: register the recordings a webhook names, stream each to storage."""

from __future__ import annotations

from functools import lru_cache

import structlog
from celery.exceptions import SoftTimeLimitExceeded
from pydantic import ValidationError

from hookline.config import get_settings
from hookline.db import tenant_session
from hookline.integrations import download
from hookline.integrations.errors import RejectedError, TransientError
from hookline.integrations.storage import Storage, StoredObject, make_storage
from hookline.services import inbox, pushes, recordings
from hookline.tasks.ghl_sync import queue_pushes
from hookline.tasks.inbox_task import InboxHandler, run_one
from hookline.workers import retry
from hookline.workers.app import app
from hookline.workers.tenancy import TenantTask

log = structlog.get_logger(__name__)

MAX_RETRIES = retry.MAX_RETRIES
LONGEST_BACKOFF = 1800  # seconds; well inside the broker's longest safe delay (workers/limits.py)
UPLOAD = "hookline.tasks.audio_upload.upload_recording"
UPLOAD_TIME_LIMIT = 3600  # seconds, hard: an `uploading` row idle longer has no live worker on it


@lru_cache(maxsize=1)
def storage() -> Storage:
    """One backend per worker process (boto3 clients are thread-safe and costly to build)."""
    return make_storage(get_settings())


def _register(session, tenant_id: int, event: inbox.Taken) -> list[int]:  # noqa: ANN001 - a Session
    if event.provider == "ghl":
        return recordings.register_from_ghl_message(session, tenant_id, event.payload)
    return recordings.register_from_zoom_event(session, tenant_id, event.event_type, event.payload)


# A payload that will never parse is kept `failed` for an operator, not retried.
EVENT = InboxHandler("audio.event", _register, (ValidationError,), lambda exc: f"invalid recording payload: {exc}")


@app.task(base=TenantTask, name="hookline.tasks.audio_upload.register_recordings")
def register_recordings(*, tenant_id: int, event_id: int) -> None:
    """Zoom recording events and GoHighLevel messages: a row per file, then one upload task each.

    GoHighLevel messages that are not calls register nothing and are marked processed.
    """
    recording_ids = run_one(EVENT, tenant_id, event_id)
    if recording_ids is None:
        return
    # After the commit, so an upload task never looks for a row that is not there yet. A crash
    # right here leaves pending rows with no task: the recordings sweep (maintenance) publishes them.
    for recording_id in recording_ids:
        upload_recording.apply_async(kwargs={"tenant_id": tenant_id, "recording_id": recording_id})
    log.info("audio.event.registered", event_id=event_id, recordings=len(recording_ids))


def transfer(target: Storage, *, url: str, token: str | None, key: str, extension: str) -> tuple[StoredObject, str]:
    """Stream the source into storage, chunk by chunk; leftovers of an earlier, killed attempt go first."""
    dropped = target.discard_partial(key)
    if dropped:
        log.info("audio.upload.partial_discarded", key=key, pieces=dropped)
    with download.stream(url, bearer=token, extension=extension) as source:
        # A body shorter than its Content-Length raises inside the stream (httpx), so the write aborts.
        stored = target.write(key, source.chunks, content_type=source.content_type)
    return stored, source.content_type


@app.task(
    base=TenantTask,
    bind=True,
    name=UPLOAD,
    # A large recording from a slow source takes a while; the hard limit stays at the longest allowed.
    soft_time_limit=UPLOAD_TIME_LIMIT - 300,
    time_limit=UPLOAD_TIME_LIMIT,
)
def upload_recording(self: TenantTask, *, tenant_id: int, recording_id: int) -> None:
    """Source URL → object storage; the row is `stored` only once the object is complete and checked.

    4xx from the source (an expired Zoom token) fails the row for good; 5xx, timeouts and storage
    errors retry with backoff. A worker killed mid-upload is redelivered (late ack) and starts over
    on the same key after discarding the partial upload.
    """
    with tenant_session(tenant_id) as session:
        recording = recordings.start_upload(session, tenant_id, recording_id)
        if recording is None:
            log.info("audio.upload.skipped", recording_id=recording_id)
            return
        url, token, key, extension = recording.source_url, recording.source_token, recording.object_key, recording.extension
    try:
        stored, content_type = transfer(storage(), url=url, token=token, key=key, extension=extension)
    except RejectedError as exc:
        _fail(tenant_id, recording_id, str(exc))
        return
    except (TransientError, SoftTimeLimitExceeded) as exc:
        error = str(exc) or "soft time limit exceeded"
        if self.request.retries >= MAX_RETRIES:
            _fail(tenant_id, recording_id, f"gave up after {MAX_RETRIES + 1} attempts: {error}")
            return
        with tenant_session(tenant_id) as session:
            recordings.mark_retrying(session, tenant_id, recording_id, error)
        log.warning("audio.upload.retrying", recording_id=recording_id, error=error, retries=self.request.retries)
        delay = retry.backoff(self.request.retries, base=get_settings().audio_retry_backoff_seconds, cap=LONGEST_BACKOFF)
        raise self.retry(countdown=delay) from None
    with tenant_session(tenant_id) as session:
        recordings.mark_stored(session, tenant_id, recording_id, stored, content_type)
        pushes.request_recording_note(session, tenant_id, recording_id)  # its link, on its CRM contact
        queue_pushes(session, tenant_id)
    log.info("audio.upload.stored", recording_id=recording_id, key=key, size=stored.size, sha256=stored.sha256)


def _fail(tenant_id: int, recording_id: int, error: str) -> None:
    with tenant_session(tenant_id) as session:
        recordings.mark_failed(session, tenant_id, recording_id, error)
    log.error("audio.upload.failed", recording_id=recording_id, error=error)
