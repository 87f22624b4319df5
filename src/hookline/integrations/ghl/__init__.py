"""GoHighLevel (LeadConnector) API v2 and its webhooks."""
