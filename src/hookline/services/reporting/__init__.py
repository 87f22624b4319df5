"""KPI reports: roll-ups of a tenant's local days into `report_metrics`, and CSV exports of them.

`rollup` replaces the figures of a range of days (never adds to them); `export_report` writes
the rolled-up figures as a CSV to storage and records a `report_ready` email in the outbox.
"""

from hookline.services.reporting.export import EXPORT_COLUMNS, export_report, metric_rows, write_export
from hookline.services.reporting.rollup import RollupResult, days_between, local_yesterday, rollup
from hookline.services.reporting.rollups import ROLLUPS

__all__ = ["EXPORT_COLUMNS", "ROLLUPS", "RollupResult", "days_between", "export_report", "local_yesterday",
           "metric_rows", "rollup", "write_export"]
