"""`hookline reports run / export`, as a real process against the test database."""

import csv
from datetime import date

import pytest
from sqlalchemy import select

from hookline.db import tenant_session
from hookline.models import EmailMessage
from tests.support.cli import hookline
from tests.support.reports import add_contacts, add_events, figures


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "2026-11-31", "--to", "2026-12-01"), "'2026-11-31' is not a day written YYYY-MM-DD"),
        (("--from", "21.11.2026", "--to", "2026-12-01"), "'21.11.2026' is not a day written YYYY-MM-DD"),
        (("--from", "2026-11-02", "--to", "2026-11-01"), "--from 2026-11-02 is after --to 2026-11-01"),
        (("--from", "2026-11-01"), "Missing option '--to'"),
    ],
    ids=["no-such-day", "not-iso", "from-after-to", "no-to"],
)
@pytest.mark.parametrize("command", ["run", "export"])
def test_bad_days_are_a_clear_error_and_leave_nothing_behind(tenant, tmp_path, command, args, message):
    email = ("--email", "ops@example.com") if command == "export" else ()
    result = hookline("reports", command, "--tenant", tenant.slug, *args, *email,
                      env={"HOOKLINE_VAR_DIR": str(tmp_path)})

    assert result.returncode == 2
    assert message in result.stderr
    assert figures(tenant.id) == {}
    assert not (tmp_path / "storage").exists()


def test_an_unknown_tenant_is_a_clear_error(tenant):
    result = hookline("reports", "run", "--tenant", "nobody", "--from", "2026-11-01", "--to", "2026-11-02")

    assert result.returncode == 1
    assert "no tenant with slug 'nobody'" in result.stderr


def test_export_refuses_a_recipient_that_is_not_an_address(tenant, tmp_path):
    result = hookline("reports", "export", "--tenant", tenant.slug, "--from", "2026-11-01", "--to", "2026-11-01",
                      "--email", "ops", env={"HOOKLINE_VAR_DIR": str(tmp_path)})

    assert result.returncode == 2
    assert "'ops' is not an email address" in result.stderr
    assert not (tmp_path / "storage").exists()


def test_run_rolls_up_every_day_of_the_range(tenant):
    add_contacts(tenant.id, ("facebook", "2026-11-19T09:00Z"), ("google", "2026-11-20T09:00Z"),
                 ("google", "2026-11-22T09:00Z"))
    add_events(tenant.id, ("ghl", "failed", "2026-11-20T09:00Z"))

    result = hookline("reports", "run", "--tenant", tenant.slug, "--from", "2026-11-19", "--to", "2026-11-21")

    assert result.returncode == 0, result.stderr
    assert "rolled up 3 day(s) for sunny-solar (2026-11-19 to 2026-11-21, UTC): leads 2 row(s), webhooks 2 row(s)" \
        in result.stdout
    assert figures(tenant.id) == {
        ("2026-11-19", "leads", "facebook"): 1,
        ("2026-11-20", "leads", "google"): 1,
        ("2026-11-20", "webhooks_failed", "ghl"): 1,
        ("2026-11-20", "webhooks_received", "ghl"): 1,
    }


def test_export_writes_the_csv_to_storage_and_records_one_email(tenant, tmp_path):
    add_contacts(tenant.id, ("facebook", "2026-11-20T09:00Z"), ("facebook", "2026-11-20T10:00Z"),
                 ("google", "2026-11-21T09:00Z"), ("google", "2026-11-25T09:00Z"))
    assert hookline("reports", "run", "--tenant", tenant.slug, "--from", "2026-11-20", "--to", "2026-11-25").returncode == 0
    export = ("reports", "export", "--tenant", tenant.slug, "--from", "2026-11-20", "--to", "2026-11-21",
              "--email", "ops@example.com")

    first = hookline(*export, env={"HOOKLINE_VAR_DIR": str(tmp_path)})
    again = hookline(*export, env={"HOOKLINE_VAR_DIR": str(tmp_path)})

    assert first.returncode == 0, first.stderr
    key = f"{tenant.id}/reports/kpis_2026-11-20_2026-11-21.csv"
    assert f"wrote 2 figure(s) to storage key {key}" in first.stdout
    with (tmp_path / "storage" / key).open(newline="") as file:
        assert list(csv.reader(file)) == [
            ["day", "metric", "dimension", "count", "amount"],
            ["2026-11-20", "leads", "facebook", "2", ""],
            ["2026-11-21", "leads", "google", "1", ""],
        ]
    assert again.returncode == 0, again.stderr
    with tenant_session(tenant.id) as session:
        emails = session.scalars(select(EmailMessage).where(EmailMessage.tenant_id == tenant.id)).all()
    assert [(m.template, m.recipient, m.status) for m in emails] == [("report_ready", "ops@example.com", "queued")]
    assert emails[0].context == {"tenant": "Sunny Solar", "from": "2026-11-20", "to": "2026-11-21",
                                 "storage_key": key, "rows": 2}
    assert f"(id {emails[0].id})" in first.stdout and f"(id {emails[0].id})" in again.stdout


def test_an_export_of_changed_figures_is_announced_again(tenant, tmp_path):
    add_contacts(tenant.id, ("facebook", "2026-11-20T09:00Z"))
    export = ("reports", "export", "--tenant", tenant.slug, "--from", "2026-11-20", "--to", "2026-11-20",
              "--email", "ops@example.com")
    empty = hookline(*export, env={"HOOKLINE_VAR_DIR": str(tmp_path)})
    hookline("reports", "run", "--tenant", tenant.slug, "--from", "2026-11-20", "--to", "2026-11-20")

    filled = hookline(*export, env={"HOOKLINE_VAR_DIR": str(tmp_path)})

    assert "no figures for 2026-11-20 to 2026-11-20: run `hookline reports run`" in empty.stdout
    assert filled.returncode == 0, filled.stderr
    with tenant_session(tenant.id) as session:
        rows = session.scalars(select(EmailMessage.context["rows"].as_integer()).order_by(EmailMessage.id)).all()
    assert rows == [0, 1]
    assert figures(tenant.id, date(2026, 11, 20), date(2026, 11, 20)) == {("2026-11-20", "leads", "facebook"): 1}
