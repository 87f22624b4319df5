"""A signed invoice.paid, posted over HTTP, pays the invoice on a real worker's dunning queue."""

from datetime import date

import httpx
from sqlalchemy import select

from hookline.db import global_session, tenant_session
from hookline.models import Payment
from hookline.services import billing, dunning
from hookline.services.tenants import add_connection
from tests.support.processes import wait_for
from tests.support.webhooks import encode, payload, stripe_headers

TOKEN, SECRET = "paytok_e2e_sunny_000000000000000", "whsec_e2e_sunny"


def test_invoice_paid_posted_twice_pays_the_invoice_once_and_stops_its_dunning(ingress_url, worker, tenant):
    with global_session() as session:
        add_connection(session, tenant.id, "payments", TOKEN, secrets={"webhook_secret": SECRET})
    with tenant_session(tenant.id) as session:
        billing.add_customer(session, tenant.id, external_id="cus_SunnyHomeowner01", name="Ana", email="ana@example.com")
        billing.add_invoice(session, tenant.id, customer_external_id="cus_SunnyHomeowner01", number="INV-1",
                            amount="129.00", currency="EUR", due_date=date(2026, 11, 16),
                            external_id="in_1QbP7wSunny0001")
    raw = encode(payload("payments/invoice.paid.json"))

    answers = [httpx.post(f"{ingress_url}/webhooks/payments/{TOKEN}", content=raw,
                          headers=stripe_headers(raw, secret=SECRET), timeout=10) for _ in range(2)]

    assert [answer.status_code for answer in answers] == [202, 200]

    def invoice_status():
        with tenant_session(tenant.id) as session:
            return billing.find_invoice(session, tenant.id, number="INV-1").status

    wait_for(lambda: invoice_status() == "paid", what="the invoice to be paid by the worker")
    with tenant_session(tenant.id) as session:
        assert session.scalars(select(Payment.amount)).all() == [129]
        assert dunning.run(session, tenant.id, date(2026, 11, 30)) == []
