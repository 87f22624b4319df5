"""Domain services: plain functions taking (session, tenant_id, …); they never commit."""
