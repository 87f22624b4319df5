"""The roll-ups over the CRM tables (appointments, deals, migration 0005) and billing (0010),
seeded directly in the tenant's session."""

from datetime import date
from decimal import Decimal

from sqlalchemy import text

from hookline.db import tenant_session
from hookline.services import reporting

SEED = """
DELETE FROM appointments;
DELETE FROM deals;
INSERT INTO appointments (tenant_id, provider, external_id, status, start_time, date_added, deleted_at) VALUES
  (:t, 'ghl', 'a1', 'confirmed', '2026-11-25 10:00Z', '2026-11-20 09:00Z', NULL),   -- set on the 20th
  (:t, 'ghl', 'a2', 'invalid',   '2026-11-25 10:00Z', '2026-11-20 09:00Z', NULL),   -- not counted as set
  (:t, 'ghl', 'a3', 'showed',    '2026-11-20 23:30Z', '2026-11-01 09:00Z', NULL),   -- held: 00:30 on the 21st in Berlin
  (:t, 'ghl', 'a4', 'showed',    '2026-11-20 10:00Z', '2026-11-01 09:00Z', NULL),   -- held on the 20th
  (:t, 'ghl', 'a5', 'noshow',    '2026-11-20 15:00Z', '2026-11-20 08:00Z', NULL),   -- set and no-show on the 20th
  (:t, 'ghl', 'a6', 'showed',    '2026-11-20 11:00Z', '2026-11-20 08:00Z', '2026-11-20 12:00Z');  -- deleted
INSERT INTO deals (tenant_id, provider, external_id, status, monetary_value, source_version, deleted_at) VALUES
  (:t, 'ghl', 'd1', 'won', 1200.50, '2026-11-20 12:00Z', NULL), (:t, 'ghl', 'd2', 'won', NULL, '2026-11-20 13:00Z', NULL),
  (:t, 'ghl', 'd3', 'lost', 999, '2026-11-20 12:00Z', NULL), (:t, 'ghl', 'd4', 'won', 5000, '2026-11-21 12:00Z', NULL),
  (:t, 'ghl', 'd5', 'won', 7, '2026-11-20 12:00Z', '2026-11-20 14:00Z');
DELETE FROM billing_customers;
INSERT INTO billing_customers (id, tenant_id, external_id, name, email) VALUES
  (:t * 1000, :t, 'cus_1', 'Ana', 'ana@example.com');
INSERT INTO billing_invoices (id, tenant_id, customer_id, number, amount, currency, due_date, status, paid_at) VALUES
  (:t * 1000 + 1, :t, :t * 1000, 'INV-1', 100.00, 'EUR', '2026-11-01', 'paid', '2026-11-20 12:00Z'),  -- recovered
  (:t * 1000 + 2, :t, :t * 1000, 'INV-2', 50.00, 'EUR', '2026-11-01', 'paid', '2026-11-20 12:00Z'),   -- no dunning
  (:t * 1000 + 3, :t, :t * 1000, 'INV-3', 30.00, 'CHF', '2026-11-01', 'paid', '2026-11-20 12:00Z'),
  (:t * 1000 + 4, :t, :t * 1000, 'INV-4', 70.00, 'EUR', '2026-11-01', 'open', NULL);
INSERT INTO dunning_attempts (tenant_id, invoice_id, step, action, days_after_due, run_date) VALUES
  (:t, :t * 1000 + 1, 1, 'reminder', 1, '2026-11-02'), (:t, :t * 1000 + 1, 2, 'reminder', 3, '2026-11-04'),
  (:t, :t * 1000 + 3, 1, 'reminder', 1, '2026-11-02'), (:t, :t * 1000 + 4, 1, 'reminder', 1, '2026-11-02');
"""


def seed_and_roll_up(tenant_id: int, other_id: int, day: date) -> tuple[reporting.RollupResult, dict]:
    with tenant_session(tenant_id) as session:
        for statement in filter(str.strip, SEED.split(";")):
            session.execute(text(statement), {"t": tenant_id, "o": other_id})
        result = reporting.rollup(session, tenant_id, day)
        rows = reporting.metric_rows(session, tenant_id, day, day)
    return result, {(metric, dimension): (count, amount) for _, metric, dimension, count, amount in rows}


def test_appointments_opportunities_and_dunning_roll_up_by_the_tenants_day(clean_tables):
    from tests.support.reports import zoned_tenant

    berlin = zoned_tenant("Nordlicht Berlin", "Europe/Berlin")
    other = zoned_tenant("Hudson Solar", "Europe/Berlin")

    result, figures = seed_and_roll_up(berlin.id, other.id, date(2026, 11, 20))
    again, same = seed_and_roll_up(berlin.id, other.id, date(2026, 11, 20))

    assert result.skipped == again.skipped == []
    assert figures == same == {
        ("appointments_set", ""): (2, None),
        ("appointments_held", ""): (1, None),
        ("appointments_no_show", ""): (1, None),
        ("opportunities_won", ""): (2, Decimal("1200.50")),
        ("dunning_recovered", "CHF"): (1, Decimal("30.00")),
        ("dunning_recovered", "EUR"): (1, Decimal("100.00")),
    }
