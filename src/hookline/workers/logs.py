"""structlog setup shared by the ingress and the workers: JSON lines with the bound context."""

from __future__ import annotations

import ast
import logging
import sys
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict


def celery_task_fields(logger: Any, method: str, event_dict: EventDict) -> EventDict:
    """Give Celery's own per-task lines logged outside the task ("received") its tenant and task id.

    Celery passes the request as the record's `data` extra, kwargs as a repr string.
    """
    data = getattr(event_dict.get("_record"), "data", None)
    if not isinstance(data, dict) or "tenant_id" in event_dict:
        return event_dict
    kwargs = data.get("kwargs")
    if isinstance(kwargs, str):
        try:
            kwargs = ast.literal_eval(kwargs)
        except (ValueError, SyntaxError):  # truncated or non-literal repr: leave the line as it is
            return event_dict
    if isinstance(kwargs, dict) and "tenant_id" in kwargs:
        event_dict.update(tenant_id=kwargs["tenant_id"], task_id=data.get("id"))
    return event_dict


def quiet(app: Any, task_name: str) -> bool:
    """A task that sends no events (beat's ticks, scheduler/schedule.py) logs no INFO line per run either."""
    return getattr(app.tasks.get(task_name), "send_events", True) is False


class QuietTicks(logging.Filter):
    """Drops Celery's INFO lines per run ("received", "succeeded") of the tasks `quiet` names; warnings and errors pass."""

    def __init__(self, app: Any) -> None:
        super().__init__()
        self.app = app

    def filter(self, record: logging.LogRecord) -> bool:
        data = getattr(record, "data", None)
        if record.levelno > logging.INFO or not isinstance(data, dict) or not isinstance(data.get("name"), str):
            return True
        return not quiet(self.app, data["name"])


SHARED_PROCESSORS: list = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


class NamedWriteLogger(structlog.WriteLogger):
    """structlog's file logger with the name it was asked for, for `add_logger_name`."""

    def __init__(self, file: TextIO, name: str) -> None:
        super().__init__(file)
        self.name = name


def configure_logging(level: str | int = "INFO") -> None:
    """Write structlog's lines and stdlib's (Celery's own too) to stderr as the same JSON lines.

    structlog's lines are rendered and written by structlog itself: through stdlib logging
    (a LogRecord, a handler, ProcessorFormatter running the chain again) a line cost ~4x as
    much, a measurable part of the ingress's CPU per webhook. Below `level` a call is a no-op.
    """
    numeric = level if isinstance(level, int) else logging.getLevelName(str(level).upper())
    stream = sys.stderr  # now: a Celery worker later swaps sys.stderr for a proxy into logging
    structlog.configure(
        processors=[*SHARED_PROCESSORS, structlog.processors.format_exc_info, structlog.processors.JSONRenderer()],
        logger_factory=lambda name="", *args: NamedWriteLogger(stream, str(name)),
        wrapper_class=structlog.make_filtering_bound_logger(numeric if isinstance(numeric, int) else logging.INFO),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*SHARED_PROCESSORS, celery_task_fields],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
