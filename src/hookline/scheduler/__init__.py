"""Celery beat: the schedule and, later, its single-leader guarantee."""
