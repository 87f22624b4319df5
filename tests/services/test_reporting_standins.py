"""The roll-ups over the CRM tables (appointments, deals) and billing.

The CRM tables are real (migration 0005). invoices and dunning_attempts do not exist yet: each
is a TEMPORARY table (dropped at commit) with only the columns the roll-up's SQL expects
(services/reporting/rollups.py); once billing lands, seed it instead and delete the stand-ins.
"""

from datetime import date
from decimal import Decimal

from sqlalchemy import text

from hookline.db import tenant_session
from hookline.services import reporting

STANDINS = """
CREATE TEMPORARY TABLE invoices (id bigint, tenant_id bigint, amount numeric(14, 2), currency text, status text,
                                 paid_at timestamptz) ON COMMIT DROP;
CREATE TEMPORARY TABLE dunning_attempts (tenant_id bigint, invoice_id bigint, step int) ON COMMIT DROP;
"""


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
INSERT INTO invoices (id, tenant_id, amount, currency, status, paid_at) VALUES
  (1, :t, 100.00, 'EUR', 'paid', '2026-11-20 12:00Z'),   -- recovered after a reminder
  (2, :t, 50.00, 'EUR', 'paid', '2026-11-20 12:00Z'),    -- paid without dunning: not recovered
  (3, :t, 30.00, 'CHF', 'paid', '2026-11-20 12:00Z'),
  (4, :t, 70.00, 'EUR', 'open', NULL),
  (5, :o, 10.00, 'EUR', 'paid', '2026-11-20 12:00Z');
INSERT INTO dunning_attempts (tenant_id, invoice_id, step) VALUES
  (:t, 1, 1), (:t, 1, 3), (:t, 3, 1), (:t, 4, 1), (:o, 5, 1);
"""


def seed_and_roll_up(tenant_id: int, other_id: int, day: date) -> tuple[reporting.RollupResult, dict]:
    with tenant_session(tenant_id) as session:
        for statement in filter(str.strip, (STANDINS + SEED).split(";")):
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
