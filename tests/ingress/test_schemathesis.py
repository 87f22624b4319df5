"""Schemathesis against /openapi.json: whatever the schema allows, no operation answers 5xx.

Kept small (25 examples per operation): tests/ingress/test_fuzz.py fuzzes the bodies harder.
Forms requests carry a real tenant's slug and API key, so generated bodies reach the inbox insert.
(Schemathesis's own pytest loader, `from_fixture`, does not run on this pytest; the operations'
Hypothesis strategies are used directly instead.)
"""

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.ingress.conftest import count_all_events

SMALL = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


def test_no_operation_answers_a_server_error(ingress_url, tenant, sunny):
    schema = schemathesis.openapi.from_dict(httpx.get(f"{ingress_url}/openapi.json", timeout=10).json())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9  # five webhook routes and four operational ones

    for operation in operations:
        @SMALL
        @given(case=operation.as_strategy())
        def no_server_error(case):
            headers = {}
            if case.path.startswith("/webhooks/forms/"):
                case.path_parameters = {**(case.path_parameters or {}), "tenant_slug": tenant.slug}
                headers["x-api-key"] = sunny.forms_key

            response = case.call(base_url=ingress_url, headers=headers, timeout=10)

            assert response.status_code < 500, (case.method, case.formatted_path, response.status_code,
                                                response.text[:300])
            if response.status_code >= 400 and case.path.startswith("/webhooks/"):
                assert set(response.json()["error"]) == {"code", "message"}

        no_server_error()

    assert count_all_events([tenant.id]) > 0  # generated forms bodies got past the door into the inbox
