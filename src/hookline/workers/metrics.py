"""Worker-side Prometheus metrics, counted in the process that runs the task.

Under prefork the tasks run in child processes: with PROMETHEUS_MULTIPROC_DIR set (hookline
dev sets it; so must a deployment, for the workers and `hookline metrics-exporter` alike)
every child writes its figures there and the exporter serves their sum. Without it the
figures stay in each process and nothing serves them.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from hookline.metrics import EXTERNAL_API_CALLS, EXTERNAL_API_RATE_LIMITED  # noqa: F401 - one import for workers

LABELS = ["task", "queue", "tenant"]
NO_TENANT = "none"  # system tasks (the relay, pruning) run for no tenant

TASKS_STARTED = Counter("hookline_worker_tasks_started_total", "Task runs started", LABELS)
TASKS_SUCCEEDED = Counter("hookline_worker_tasks_succeeded_total", "Task runs that succeeded", LABELS)
TASKS_FAILED = Counter("hookline_worker_tasks_failed_total", "Task runs that failed for good", LABELS)
TASKS_RETRIED = Counter("hookline_worker_tasks_retried_total", "Task runs that ended in a retry", LABELS)
TASKS_REJECTED = Counter("hookline_worker_tasks_rejected_total",
                         "Task messages refused without running (bad tenant; unknown task)", LABELS)
# By task and queue only: a histogram's buckets times every tenant would be too many series.
TASK_RUNTIME = Histogram("hookline_worker_task_runtime_seconds", "Task run time", ["task", "queue"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600))
# A batch task run carries many inbox events (transport/batches.py): what became of them, by outcome
# (applied, skipped: not pending any more, failed). The task counters above count runs, not events.
BATCH_EVENTS = Counter("hookline_worker_batch_events_total",
                       "Inbox events of batch task runs, by their one-event task and outcome", ["task", "outcome"])
TASK_RUN_WRITE_FAILURES = Counter("hookline_worker_task_run_write_failures_total",
                                  "task_runs rows that could not be written (the task ran anyway)")

BY_STATE = {"SUCCESS": TASKS_SUCCEEDED, "FAILURE": TASKS_FAILED, "RETRY": TASKS_RETRIED, "REJECTED": TASKS_REJECTED,
            "IGNORED": TASKS_SUCCEEDED}
