"""PostgreSQL unreachable under a real worker: TenantTask's own policy retries, with no retry options on the task."""

from __future__ import annotations

import os

import pytest
from sqlalchemy.engine import make_url

from hookline.tasks.reports import rollup_day
from hookline.transport.publish import publish
from tests.support.processes import wait_for
from tests.support.reports import add_contacts, figures
from tests.support.tcpproxy import TcpProxy
from tests.support.workers import celery_worker

pytestmark = pytest.mark.e2e


def test_a_task_whose_database_refuses_connections_is_retried_and_runs_once_it_is_back(tenant, redis_client,
                                                                                         tmp_path):
    assert not getattr(rollup_day, "autoretry_for", ())  # only TenantTask's policy can retry it
    url = make_url(os.environ["HOOKLINE_DATABASE_URL"])
    database = TcpProxy(url.host, url.port or 5432)  # not started yet: its port refuses connections
    add_contacts(tenant.id, ("facebook", "2026-11-20T09:00Z"))
    redis_client.delete("reports")
    log = tmp_path / "worker.log"

    with celery_worker(log, queues="reports", concurrency=1,
                       HOOKLINE_DATABASE_URL=url.set(host="127.0.0.1", port=database.port)
                       .render_as_string(hide_password=False)):
        publish(rollup_day.name, tenant_id=tenant.id, day="2026-11-20")
        wait_for(lambda: "task.retry" in log.read_text() and "OperationalError" in log.read_text(),
                 timeout=60, what="a retry after the refused connection")
        assert figures(tenant.id) == {}
        database.start()
        try:
            wait_for(lambda: figures(tenant.id), timeout=60, what="the rollup once PostgreSQL answers")
        finally:
            database.stop()

    assert figures(tenant.id) == {("2026-11-20", "leads", "facebook"): 1}
