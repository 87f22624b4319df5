"""Hookline: webhooks in, tenant-tagged Celery work, PostgreSQL out."""
