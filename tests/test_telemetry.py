"""Traces and error reports are off unless configured; when on, error reports carry no secret."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from hookline.config import ConfigError, Settings, load_settings
from hookline.ingress.app import Ingress, create_app
from hookline.telemetry.scrub import FILTERED, Scrubber, known_secrets
from hookline.telemetry.tracing import traces_endpoint
from hookline.transport.publisher import Job

TASK = "hookline.tasks.ghl_sync.upsert_contact"


def test_tracing_is_off_without_an_endpoint(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)

    assert traces_endpoint(Settings()) is None


def test_hooklines_endpoint_gets_the_traces_path(monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://elsewhere:4318")

    settings = Settings(otel_exporter_otlp_endpoint="http://collector:4318/")

    assert traces_endpoint(settings) == "http://collector:4318/v1/traces"


def test_the_standard_endpoint_variable_turns_tracing_on(monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "https://otlp.example.com")

    assert traces_endpoint(Settings()) == "https://otlp.example.com/v1/traces"


def test_otel_sdk_disabled_wins_over_any_endpoint(monkeypatch):
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")

    assert traces_endpoint(Settings(otel_exporter_otlp_endpoint="http://collector:4318")) is None


def test_an_endpoint_that_is_not_http_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("HOOKLINE_OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317")

    with pytest.raises(ConfigError, match=r"HOOKLINE_OTEL_EXPORTER_OTLP_ENDPOINT: .*http:// or https://"):
        load_settings()


def test_with_tracing_off_the_ingress_is_served_unwrapped(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)

    assert type(create_app(Settings())) is Ingress


def test_a_jobs_trace_context_rides_in_its_message_headers():
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    traced = Job(TASK, 7, 42, "ghl", "req-1", trace=(("traceparent", traceparent),))

    assert traced.headers == {"request_id": "req-1", "traceparent": traceparent, "tenant_id": 7}
    assert Job(TASK, 7, 42, "ghl", "req-1").headers == {"request_id": "req-1", "tenant_id": 7}


def test_known_secrets_are_every_secret_setting_and_each_part_of_a_list():
    settings = Settings(secret_keys=SecretStr("Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo=,"
                                              "b2xkb2xkb2xkb2xkb2xkb2xkb2xkb2xkb2xkb2xkb2w="),
                        ghl_client_secret=SecretStr("ghl-client-secret-1"), flower_basic_auth=SecretStr("ops:hunter22"))

    found = known_secrets(settings)

    assert {"Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo=", "b2xkb2xkb2xkb2xkb2xkb2xkb2xkb2xkb2xkb2xkb2w=",
            "ghl-client-secret-1", "hunter22"} <= set(found)
    assert "ops" not in found  # too short to mask as text: it is a word, not a secret


def test_the_scrubber_masks_secret_names_their_values_everywhere_known_values_and_bearer_tokens():
    event = {
        "tags": {"tenant_id": "7"},
        "extra": {"celery-job": {"kwargs": {"tenant_id": 7, "api_token": "tok-abcdef123456",
                                             "signing_secret": "whsec-98765432"}}},
        "exception": {"values": [{"type": "RejectedError", "value": (
            "refused tok-abcdef123456 signed whsec-98765432 with ghl-client-secret-1; "
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl")}]},
        "breadcrumbs": {"values": [{"message": "GET /contacts", "data": {"Authorization": "Bearer raw-token-1"}}]},
    }

    scrubbed = Scrubber(["ghl-client-secret-1"])(event, {})

    assert scrubbed["extra"]["celery-job"]["kwargs"] == {"tenant_id": 7, "api_token": FILTERED,
                                                         "signing_secret": FILTERED}
    message = scrubbed["exception"]["values"][0]["value"]
    assert message == f"refused {FILTERED} signed {FILTERED} with {FILTERED}; Authorization: {FILTERED}"
    assert scrubbed["breadcrumbs"]["values"][0] == {"message": "GET /contacts", "data": {"Authorization": FILTERED}}
    assert scrubbed["tags"] == {"tenant_id": "7"}
    assert scrubbed["exception"]["values"][0]["type"] == "RejectedError"


def test_secret_named_values_written_out_in_text_are_masked_and_other_words_kept():
    event = {"logentry": {"formatted": "body was: b'[[], {\"tenant_id\": 1, \"api_token\": \"tok-1\"}]' "
                                       "password=hunter2 signing_secret='whsec x'; client is a monkey"}}

    scrubbed = Scrubber([])(event, {})

    assert scrubbed["logentry"]["formatted"] == (
        "body was: b'[[], {\"tenant_id\": 1, \"api_token\": \"[Filtered]\"}]' "
        "password=[Filtered] signing_secret='[Filtered]'; client is a monkey")
