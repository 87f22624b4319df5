"""The tenant-tagged base task: no tenant id, no task; the id rides in headers and every log line.

Every task inherits the failure handling too: arguments checked against the signature, the
shared retry policy (workers/retry.py), dead letters when a task fails for good, and quarantine
of a message whose runs keep killing their worker (workers/deliveries.py).
"""

from __future__ import annotations

from typing import Any

import structlog
from celery.exceptions import Reject, TimeLimitExceeded

from hookline.db import MissingTenant, require_tenant
from hookline.transport.headers import task_options
from hookline.workers import arguments, deliveries, retry
from hookline.workers.routing import delivered_from

log = structlog.get_logger(__name__)

__all__ = ["MissingTenant", "TenantTask", "require_tenant"]


SECRET_WORDS = ("secret", "token", "password", "passwd", "authorization", "api_key", "apikey", "credential")
REDACTED = "***"


def redacted(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Task keyword arguments as operators may see them: values of secret-looking keys masked."""
    return {key: REDACTED if any(word in str(key).lower() for word in SECRET_WORDS) else value
            for key, value in kwargs.items()}


class TenantTask(retry.Retrying):
    """Base for every Hookline task. Tasks take keyword arguments, `tenant_id` first."""

    abstract = True

    def apply_async(self, args: tuple[Any, ...] | None = None, kwargs: dict[str, Any] | None = None,
                    **options: Any) -> Any:
        if args:
            raise TypeError(f"{self.name} takes keyword arguments only")
        return super().apply_async(args, kwargs, **task_options(kwargs, options))

    def signature_from_request(self, request=None, args=None, kwargs=None, queue=None, **extra_options: Any):  # noqa: ANN001, ANN201
        # A retry goes back to the queue its message came from, a bulk lane included. Celery keeps
        # it only for a message published to the default exchange (Redis); a message that names its
        # exchange (RabbitMQ) was routed by the task's name again: a flood's retries jumped to the
        # main lane.
        if queue is None:
            routing_key = ((request or self.request).delivery_info or {}).get("routing_key") or ""
            if delivered_from(routing_key) in self.app.amqp.queues:
                queue = delivered_from(routing_key)
        return super().signature_from_request(request, args, kwargs, queue=queue, **extra_options)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # A message may come from anywhere (send_task, an old client, a hand-made publish):
        # check again on the worker side and reject it without running the body.
        headers = self.request.headers or {}
        header_tenant = headers.get("tenant_id", getattr(self.request, "tenant_id", None))
        try:
            tenant_id = require_tenant(kwargs.get("tenant_id"))
        except MissingTenant as exc:
            log.error("task.refused.no_tenant", task=self.name, task_id=self.request.id)
            if self.request.called_directly:
                raise
            raise Reject(str(exc), requeue=False) from exc
        if header_tenant is not None and header_tenant != tenant_id:
            log.error("task.refused.tenant_mismatch", task=self.name, header_tenant=header_tenant)
            raise Reject("tenant_id header and argument disagree", requeue=False)
        if self.request.called_directly:  # a plain function call (tests, a shell): no broker, no policy
            return super().__call__(*args, **kwargs)
        # An eager run (apply()) has no broker to redeliver it, and its retries nest inside it
        # before after_return: counting them would quarantine a task that merely retried.
        runs = 0 if self.request.is_eager else deliveries.started(tenant_id, self.request.id,
                                                                  redelivered=self._redelivered())
        if runs > deliveries.POISON_DELIVERIES:
            self._quarantine(tenant_id, kwargs, runs)
            return None  # acknowledged: the message never blocks its queue again
        arguments.check(self.name, self.run, kwargs)
        return super().__call__(*args, **kwargs)  # the shared retry policy: retry.Retrying

    def after_return(self, status, retval, task_id, args, kwargs, einfo) -> None:  # noqa: ANN001
        # The run came back (success or failure): it did not kill its worker.
        self._returned(task_id, kwargs)
        super().after_return(status, retval, task_id, args, kwargs, einfo)

    def on_retry(self, exc, task_id, args, kwargs, einfo) -> None:  # noqa: ANN001
        # Celery skips after_return for a retry (RETRY is one of its IGNORE_STATES), and the retry
        # keeps the task id: without this, a task retried three times would be taken for poison.
        self._returned(task_id, kwargs)
        super().on_retry(exc, task_id, args, kwargs, einfo)

    def _redelivered(self) -> bool:
        return bool((self.request.delivery_info or {}).get("redelivered"))

    def _returned(self, task_id: str | None, kwargs: Any) -> None:
        # Only a redelivered run was counted (workers/deliveries.py): a first one has nothing to clear.
        if self._redelivered() and isinstance(kwargs, dict) and isinstance(kwargs.get("tenant_id"), int) and task_id:
            deliveries.finished(kwargs["tenant_id"], task_id)

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:  # noqa: ANN001
        # Called once the task has failed for good: retries exhausted, or an error not worth retrying.
        # At the hard time limit the pool kills the child and Celery calls this in the worker's main
        # process instead (Request.on_timeout), with TimeLimitExceeded: that run is dead-lettered too.
        if isinstance(exc, retry.InvalidArguments):
            reason = "invalid_arguments"
        elif isinstance(exc, TimeLimitExceeded):
            reason = "time_limit"
        elif retry.is_transient(exc):
            reason = "retries_exhausted"
        else:
            reason = "permanent"
        self._bury(kwargs.get("tenant_id"), task_id, kwargs, reason, f"{type(exc).__name__}: {exc}",
                   str(einfo) if einfo is not None else None)

    def _quarantine(self, tenant_id: int, kwargs: dict[str, Any], runs: int) -> None:
        error = (f"poison message: delivered {runs} times; each of the previous {runs - 1} runs ended with "
                 "its worker process dying (killed, crashed or out of memory)")
        self._bury(tenant_id, self.request.id, kwargs, "poison", error, None)

    def _bury(self, tenant_id: Any, task_id: str, kwargs: dict[str, Any], reason: str, error: str,
              traceback: str | None) -> None:
        from hookline.db import tenant_session
        from hookline.services import dead_letters

        try:
            with tenant_session(tenant_id) as session:
                letter = dead_letters.record(session, tenant_id, task=self.name, task_id=task_id,
                                             kwargs=redacted(kwargs), reason=reason, error=error, traceback=traceback)
        except Exception as exc:  # noqa: BLE001 - the database is down too: the log line is all that is left
            log.error("task.dead_letter.not_recorded", task=self.name, task_id=task_id, reason=reason,
                      error=error[:300], cause=repr(exc)[:300])
            return
        log.error("task.dead_lettered", task=self.name, task_id=task_id, reason=reason, dead_letter_id=letter.id,
                  attempts=letter.attempts, error=error[:300])
