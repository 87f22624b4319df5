"""structlog setup shared by the ingress and the workers: JSON lines with the bound context."""

from __future__ import annotations

import ast
import logging
import sys
from typing import Any

import structlog



def celery_task_fields(logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
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


SHARED_PROCESSORS: list = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure_logging(level: str = "INFO") -> None:
    """Route structlog and stdlib logging (Celery's own lines too) through one JSON renderer."""
    structlog.configure(
        # filter_by_level first: a debug line below the level costs a level check, not the whole chain.
        processors=[structlog.stdlib.filter_by_level, *SHARED_PROCESSORS,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
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
