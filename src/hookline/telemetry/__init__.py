"""Traces (OpenTelemetry) and error reports (Sentry): each off unless configured, and then set up once per process."""
