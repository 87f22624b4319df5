"""Tasks for tests only, loaded into a real worker with `--include tests.support.probe_tasks`.

Each ends in one known way (success, failure, one retry), so the task-run history and the
metrics can be checked against what certainly happened. Sent to a queue explicitly.
"""

from hookline.workers.app import app
from hookline.workers.tenancy import TenantTask


@app.task(base=TenantTask, name="tests.probe.succeed")
def succeed(*, tenant_id: int, event_id: int | None = None) -> None:
    return None


@app.task(base=TenantTask, name="tests.probe.fail")
def fail(*, tenant_id: int, event_id: int | None = None) -> None:
    raise RuntimeError("probe failure for the history")


@app.task(base=TenantTask, bind=True, name="tests.probe.retry_once", max_retries=1)
def retry_once(self, *, tenant_id: int, event_id: int | None = None) -> None:
    if self.request.retries == 0:
        raise self.retry(countdown=0)


@app.task(base=TenantTask, name="tests.probe.publish_next")
def publish_next(*, tenant_id: int, event_id: int | None = None) -> None:
    """A task that causes another, as an event's handler may: the second must carry the request id on."""
    succeed.apply_async(kwargs={"tenant_id": tenant_id, "event_id": event_id}, queue="maintenance")


@app.task(base=TenantTask, name="tests.probe.pause")
def pause(*, tenant_id: int, seconds: float, event_id: int | None = None) -> None:
    """Holds its worker process for `seconds`: what a worker takes meanwhile shows its prefetch."""
    import time

    time.sleep(seconds)
