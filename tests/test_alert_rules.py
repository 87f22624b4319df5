"""deploy/prometheus/alerts.yml and the Grafana dashboard only name metrics that Hookline exposes."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_metric_in_the_alert_rules_is_defined_in_the_code():
    rules = (ROOT / "deploy/prometheus/alerts.yml").read_text()
    source = "\n".join(path.read_text() for path in (ROOT / "src/hookline").rglob("*.py"))
    defined = set(re.findall(r'"(hookline_[a-z_]+)"', source))

    used = set(re.findall(r"\b(hookline_[a-z_]+)", rules))

    assert used, "no metric found in the rules"
    # A counter is exposed with _total as defined; a histogram adds _count/_sum/_bucket.
    assert {name for name in used if name not in defined} == set()


def test_every_metric_on_the_grafana_dashboard_is_defined_in_the_code():
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/hookline.json").read_text())
    source = "\n".join(path.read_text() for path in (ROOT / "src/hookline").rglob("*.py"))
    defined = set(re.findall(r'"(hookline_[a-z_]+)"', source))
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]

    used = {re.sub(r"_bucket$", "", name) for expr in exprs for name in re.findall(r"\b(hookline_[a-z_]+)", expr)}

    assert len(exprs) >= 10 and used
    assert {name for name in used if name not in defined} == set()
    provisioning = (ROOT / "deploy/grafana/provisioning/dashboards/hookline.yml").read_text()
    assert "type: file" in provisioning and dashboard["uid"] == "hookline-overview"
