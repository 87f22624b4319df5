"""Dunning tags through a real Celery worker: the ghl_sync queue, the location's rate limit, retries, task history."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from hookline.db import tenant_session
from hookline.models import CrmPush, TaskRun
from hookline.services import billing, contacts
from hookline.services.billing import Policy
from tests.e2e.conftest import celery_worker
from tests.support.cli import hookline
from tests.support.fake_ghl import FakeGHL, serve
from tests.support.processes import wait_for
from tests.support.sync import LOCATION, clear_limits, connect

CUSTOMERS = 6
TAG = "hookline:dunning-suspended"
TASK = "hookline.tasks.ghl_sync.push_dunning_tag"


@pytest.fixture()
def overdue(tenant, redis_client):
    """Six customers, each with an invoice due 2026-11-01 and a GoHighLevel contact by the same email."""
    clear_limits(redis_client)
    fake = FakeGHL(limit=1000)
    with tenant_session(tenant.id) as session:
        billing.set_policy(session, tenant.id, Policy((1,), 3))
        for n in range(CUSTOMERS):
            email = f"owner{n}@example.com"
            fake.contacts[LOCATION][f"c{n}"] = {"id": f"c{n}", "locationId": LOCATION, "email": email, "tags": []}
            contacts.upsert(session, tenant.id, contacts.ContactData(provider="ghl", external_id=f"c{n}", email=email))
            billing.add_customer(session, tenant.id, external_id=f"cus_{n}", name=f"Owner {n}", email=email)
            billing.add_invoice(session, tenant.id, customer_external_id=f"cus_{n}", number=f"INV-{n}",
                                amount="99.00", currency="EUR", due_date=date(2026, 11, 1))
    connect(tenant, fake)
    return fake


def push_states(tenant) -> list[str]:
    with tenant_session(tenant.id) as session:
        return list(session.scalars(select(CrmPush.state)))


def test_suspensions_tag_each_contact_within_the_rate_limit_with_task_history(tenant, overdue, tmp_path):
    fake = overdue
    # 2 requests per 2 s and no waiting in the worker: six pushes must retry with the limiter's countdown
    limits = {"HOOKLINE_GHL_BURST_LIMIT": "2", "HOOKLINE_GHL_BURST_WINDOW_SECONDS": "2",
              "HOOKLINE_API_RATE_SLACK_SECONDS": "0.2", "HOOKLINE_API_MAX_WAIT_SECONDS": "0"}
    with serve(fake.app()) as url, celery_worker(["ghl_sync"], tmp_path / "worker.log",
                                                 env={"HOOKLINE_GHL_API_URL": url, **limits}) as worker:
        ran = hookline("billing", "run", "--tenant", tenant.slug, "--date", "2026-11-04")
        assert ran.returncode == 0 and f"{CUSTOMERS} step(s) done" in ran.stdout, ran.stderr
        wait_for(lambda: push_states(tenant) == ["done"] * CUSTOMERS, timeout=120, what="every push done")

    assert all(fake.contacts[LOCATION][f"c{n}"]["tags"] == [TAG] for n in range(CUSTOMERS))
    assert sorted(contact for _, contact, _ in fake.tag_calls) == [f"c{n}" for n in range(CUSTOMERS)]  # one each
    assert fake.refused_429[LOCATION] == 0 and fake.max_in_window(LOCATION, 2.0) <= 2
    retries = re.findall(r"ghl_sync\.push_dunning_tag\[[^\]]+\] retry: Retry in ([\d.]+)s", "\n".join(worker.lines()))
    assert retries  # the limiter's countdown, as every GoHighLevel task takes it
    with tenant_session(tenant.id) as session:
        states = session.scalars(select(TaskRun.state).where(TaskRun.tenant_id == tenant.id, TaskRun.task == TASK,
                                                             TaskRun.queue == "ghl_sync")).all()
    assert states.count("succeeded") == CUSTOMERS and "retried" in states
