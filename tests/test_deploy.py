"""compose.yaml runs the Procfile's processes as the Procfile does, and Prometheus scrapes what the alert rules assume."""

import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def command_of(service: dict) -> str:
    """A service's command as one shell line (the `sh -c '…; exec …'` wrappers unwrapped)."""
    command = service["command"]
    line = command[2] if command[:2] == ["sh", "-c"] else shlex.join(command)
    return line.rsplit("exec ", 1)[-1]


def test_every_procfile_process_is_a_compose_service_with_the_same_command():
    procfile = (ROOT / "src/hookline/Procfile").read_text().splitlines()
    commands = {name: command_of(service) for name, service in compose()["services"].items() if "command" in service}

    for line in filter(None, procfile):
        name, command = (part.strip() for part in line.split(":", 1))
        assert command in commands.values(), f"Procfile {name}: no compose service runs {command!r}"


def test_two_beats_and_a_metrics_exporter_beside_each_worker_group():
    services = compose()["services"]
    beats = [name for name, service in services.items() if "command" in service and " beat " in command_of(service)]
    groups = {name: service["volumes"] for name, service in services.items() if name.startswith("worker-")}
    exporters = {name: service["volumes"] for name, service in services.items() if name.startswith("metrics-")}

    assert len(beats) == 2
    assert sorted(map(str, groups.values())) == sorted(map(str, exporters.values())) and len(groups) == 3


def test_prometheus_scrapes_the_jobs_the_alert_rules_name_and_loads_the_rules():
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    rules = (ROOT / "deploy/prometheus/alerts.yml").read_text()
    mounts = compose()["services"]["prometheus"]["volumes"]
    services = compose()["services"]

    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(re.findall(r"`(hookline-[a-z]+)`", rules.split("groups:")[0])) == set(jobs)
    assert "./deploy/prometheus/alerts.yml:" + config["rule_files"][0] + ":ro" in mounts
    targets = [target.split(":")[0] for group in jobs["hookline-workers"]["static_configs"] for target in group["targets"]]
    assert sorted(targets) == sorted(name for name in services if name.startswith("metrics-"))
    assert [entry["names"] for entry in jobs["hookline-ingress"]["dns_sd_configs"]] == [["web"]]
