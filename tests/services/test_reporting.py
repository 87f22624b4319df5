"""Roll-ups on real PostgreSQL: replace per day, the tenant's local days, one tenant at a time."""

from datetime import date

import pytest
from sqlalchemy import text

from hookline.db import tenant_session
from hookline.services.reporting import rollups, write_export
from tests.support.reports import add_contacts, add_events, figures, rollup, zoned_tenant

NOV_20, NOV_21 = date(2026, 11, 20), date(2026, 11, 21)


def test_a_day_rolled_up_twice_has_the_same_figures(tenant):
    add_contacts(tenant.id, ("facebook", "2026-11-20T09:00Z"), ("facebook", "2026-11-20T10:00Z"),
                 ("google", "2026-11-20T11:00Z"), (None, "2026-11-20T12:00Z"), ("google", "2026-11-21T08:00Z"))
    add_events(tenant.id, ("ghl", "processed", "2026-11-20T09:00Z"), ("ghl", "failed", "2026-11-20T09:01Z"),
               ("zoom", "processed", "2026-11-20T09:02Z"))

    first = rollup(tenant.id, NOV_20)
    once = figures(tenant.id)
    second = rollup(tenant.id, NOV_20)

    assert figures(tenant.id) == once == {
        ("2026-11-20", "leads", "facebook"): 2,
        ("2026-11-20", "leads", "google"): 1,
        ("2026-11-20", "leads", "unknown"): 1,
        ("2026-11-20", "webhooks_failed", "ghl"): 1,
        ("2026-11-20", "webhooks_failed", "zoom"): 0,
        ("2026-11-20", "webhooks_received", "ghl"): 2,
        ("2026-11-20", "webhooks_received", "zoom"): 1,
    }
    assert first.rows == second.rows == {"leads": 3, "webhooks": 4, "appointments": 0, "opportunities_won": 0,
                                         "dunning_recovered": 0}


def test_a_day_rolled_up_again_replaces_its_figures_with_the_new_counts(tenant):
    add_contacts(tenant.id, ("facebook", "2026-11-20T09:00Z"))
    rollup(tenant.id, NOV_20)
    add_contacts(tenant.id, ("facebook", "2026-11-20T15:00Z"))

    rollup(tenant.id, NOV_20)

    assert figures(tenant.id) == {("2026-11-20", "leads", "facebook"): 2}


def test_a_range_rolled_up_at_once_equals_its_days_one_by_one(tenant):
    add_contacts(tenant.id, ("facebook", "2026-11-19T23:59Z"), ("facebook", "2026-11-20T00:00Z"),
                 ("google", "2026-11-21T12:00Z"), ("google", "2026-11-22T00:00Z"))
    rollup(tenant.id, NOV_20, NOV_21)
    at_once = figures(tenant.id)

    rollup(tenant.id, NOV_20)
    rollup(tenant.id, NOV_21)

    assert figures(tenant.id) == at_once == {("2026-11-20", "leads", "facebook"): 1,
                                             ("2026-11-21", "leads", "google"): 1}


def test_days_are_the_tenants_local_days(clean_tables):
    berlin = zoned_tenant("Nordlicht Berlin", "Europe/Berlin")
    london = zoned_tenant("Thames Solar", "UTC")
    for tenant in (berlin, london):  # 23:30 UTC on the 20th is 00:30 on the 21st in Berlin (CET, +1)
        add_contacts(tenant.id, ("facebook", "2026-11-20T23:30Z"), ("facebook", "2026-11-20T22:59Z"))
        add_events(tenant.id, ("ghl", "processed", "2026-11-20T23:30Z"))
        rollup(tenant.id, NOV_20, NOV_21)

    assert figures(berlin.id) == {
        ("2026-11-20", "leads", "facebook"): 1,
        ("2026-11-21", "leads", "facebook"): 1,
        ("2026-11-21", "webhooks_failed", "ghl"): 0,
        ("2026-11-21", "webhooks_received", "ghl"): 1,
    }
    assert figures(london.id) == {
        ("2026-11-20", "leads", "facebook"): 2,
        ("2026-11-20", "webhooks_failed", "ghl"): 0,
        ("2026-11-20", "webhooks_received", "ghl"): 1,
    }


def test_a_local_day_across_a_daylight_saving_change_is_23_hours_long(clean_tables):
    berlin = zoned_tenant("Nordlicht Berlin", "Europe/Berlin")
    # 29 March 2026 starts at 23:00 UTC on the 28th (CET) and ends at 22:00 UTC (CEST).
    add_contacts(berlin.id, ("a", "2026-03-28T22:59Z"), ("b", "2026-03-28T23:00Z"), ("b", "2026-03-29T21:59Z"),
                 ("c", "2026-03-29T22:00Z"))

    rollup(berlin.id, date(2026, 3, 29))

    assert figures(berlin.id) == {("2026-03-29", "leads", "b"): 2}


def test_a_tenant_rolls_up_only_its_own_rows_and_sees_only_its_own_figures(tenant, other_tenant):
    add_contacts(tenant.id, ("facebook", "2026-11-20T09:00Z"))
    add_contacts(other_tenant.id, ("facebook", "2026-11-20T09:00Z"), ("facebook", "2026-11-20T10:00Z"))
    add_events(other_tenant.id, ("ghl", "failed", "2026-11-20T09:00Z"))
    rollup(other_tenant.id, NOV_20)

    rollup(tenant.id, NOV_20)

    assert figures(tenant.id) == {("2026-11-20", "leads", "facebook"): 1}
    assert figures(other_tenant.id)[("2026-11-20", "leads", "facebook")] == 2  # left alone by the other's run
    with tenant_session(tenant.id) as session:  # row-level security, without the WHERE
        seen = session.execute(text("SELECT DISTINCT tenant_id FROM report_metrics")).scalars().all()
    assert seen == [tenant.id]


def test_a_roll_up_whose_table_is_missing_is_skipped_and_keeps_its_figures(tenant):
    add_contacts(tenant.id, ("facebook", "2026-11-20T09:00Z"))
    rollup(tenant.id, NOV_20)

    with tenant_session(tenant.id) as session:
        days = rollups.window(session, tenant.id, NOV_20, NOV_20)
        written = rollups.replace(session, days, ("leads",), "SELECT 1", requires=("contacts", "no_such_table"))

    assert written is None
    assert figures(tenant.id) == {("2026-11-20", "leads", "facebook"): 1}


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b.csv", ".hidden.csv", ""])
def test_an_export_name_that_is_not_a_plain_file_name_is_refused(name):
    with pytest.raises(ValueError, match="plain file name"):
        write_export(1, name, [("day",)])


@pytest.mark.parametrize(("table", "condition", "index"), [
    ("contacts", rollups.ADDED_IN_WINDOW, "ix_contacts_tenant_id_date_added"),
    ("webhook_events", rollups.IN_WINDOW.format(ts="received_at"), "ix_webhook_events_tenant_id_received_at"),
])
def test_a_days_rows_are_found_by_index_under_row_level_security(tenant, table, condition, index):
    # Not a timing: whether PostgreSQL may use the index at all. A condition it deems leaky (one on
    # coalesce(…), for one) cannot be an index condition under row-level security, and a day of a
    # tenant with a million contacts would read them all (bench/reports.py).
    with tenant_session(tenant.id) as session:
        days = rollups.window(session, tenant.id, NOV_20, NOV_20)
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = session.execute(text(f"EXPLAIN SELECT count(*) FROM {table} WHERE tenant_id = :tenant AND {condition}"),
                               days.params()).scalars().all()

    assert any(index in line for line in plan), "\n".join(plan)
    assert not any("Seq Scan" in line for line in plan), "\n".join(plan)
