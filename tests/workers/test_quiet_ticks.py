"""Beat's ticks log no INFO line per run in the workers (QuietTicks); other tasks, and every warning, still do."""

import logging

from hookline.workers.app import app
from hookline.workers.logs import QuietTicks, quiet

app.loader.import_default_modules()  # the task modules, as a worker and beat import them at start


def record(level: int, task: str) -> logging.LogRecord:
    line = logging.LogRecord("celery.app.trace", level, __file__, 1, "Task %(name)s[%(id)s] succeeded", None, None)
    line.data = {"id": "abc", "name": task}
    return line


def test_a_ticks_run_lines_are_dropped_and_a_webhook_tasks_are_kept():
    ticks = QuietTicks(app)

    assert not ticks.filter(record(logging.INFO, "hookline.tasks.maintenance.relay_unpublished"))
    assert not ticks.filter(record(logging.INFO, "hookline.tasks.ghl_sync.resume_installs"))
    assert ticks.filter(record(logging.INFO, "hookline.tasks.ghl_sync.apply_event"))
    assert ticks.filter(record(logging.ERROR, "hookline.tasks.maintenance.relay_unpublished"))  # a failure shows
    assert ticks.filter(logging.LogRecord("celery.worker", logging.INFO, __file__, 1, "Connected", None, None))


def test_only_tasks_that_send_no_events_are_quiet():
    assert quiet(app, "hookline.tasks.maintenance.sweep_stale")
    assert not quiet(app, "hookline.tasks.ghl_sync.apply_event")
    assert not quiet(app, "no.such.task")
