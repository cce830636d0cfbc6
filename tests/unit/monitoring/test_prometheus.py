"""Gauges at the server's /metrics, alert rules loaded by promtool, the Grafana dashboard's metrics."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

import shipyard as sy
from shipyard.monitoring.prometheus import METRICS
from shipyard.server.app import create_app
from shipyard.workspace import Workspace
from tests.conftest import service_missing

from .monitor_support import HOUR, T0, deploy, label, make_frame, register, traffic

DASHBOARD = Path(__file__).parents[3] / "deploy" / "grafana" / "shipyard-monitoring.json"


@pytest.fixture
def monitored(workspace: Workspace) -> Workspace:
    register(workspace)
    workspace.registry.promote("fraud", 1, "production")
    deploy(workspace)
    sy.monitor(
        "fraud-drift",
        "fraud-svc",
        reference=make_frame(800, 1),
        checks=[
            sy.checks.feature_drift(),
            sy.checks.data_quality(),
            sy.checks.performance("roc_auc", min=0.99),
            sy.checks.latency(p99_ms=50),
        ],
    )
    frame = make_frame(400, 2, shift=200.0)
    label(workspace, traffic(workspace, frame, T0), frame)
    workspace.monitors.run("fraud-drift", now=T0 + HOUR)
    return workspace


def test_metrics_route_exports_gauges(monitored: Workspace) -> None:
    async def scrape() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(monitored, require_auth=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/metrics")

    answer = asyncio.run(scrape())
    assert answer.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(answer.text)}
    assert set(families) <= set(METRICS)
    drift = {s.labels["column"]: s.value for s in families["shipyard_monitor_drift_score"].samples}
    assert set(drift) == {"amount", "age"}
    status = {s.labels["check"]: s.value for s in families["shipyard_monitor_check_status"].samples}
    assert status["feature_drift"] >= 1 and status["performance:roc_auc"] == 2
    perf = families["shipyard_monitor_performance"].samples[0]
    assert perf.labels["model_version"] == "fraud:1" and 0 < perf.value < 1
    firing = {s.labels["check"] for s in families["shipyard_monitor_alert_firing"].samples}
    assert {"feature_drift", "performance:roc_auc"} <= firing
    assert families["shipyard_monitor_quality_failed"].samples


def test_exported_rules_load_in_promtool(monitored: Workspace, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        service_missing("promtool", "apt-get install prometheus")
        return
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(monitored.monitors.alert_rules()))
    done = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 9 rules found" in done.stdout  # 4 checks x 2 severities + staleness


def test_cli_exports_rules(monitored: Workspace, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from shipyard.cli.main import app

    out = tmp_path / "rules.yml"
    done = CliRunner().invoke(app, ["monitors", "export-prometheus-rules", "-o", str(out)])
    assert done.exit_code == 0, done.output
    rules = yaml.safe_load(out.read_text())["groups"][0]["rules"]
    assert any(
        r["labels"].get("check") == "feature_drift" and r["labels"]["severity"] == "critical" for r in rules
    )


def test_grafana_dashboard_uses_exported_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs.append(dashboard["templating"]["list"][1]["definition"])
    used = {m for e in exprs for m in re.findall(r"shipyard_[a-z_]+", e)}
    assert used and used <= set(METRICS), used - set(METRICS)
