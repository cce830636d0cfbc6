"""Monitors end to end on an embedded workspace: create, run windows, results, bad input."""

from __future__ import annotations

import pandas as pd
import pytest

import shipyard as sy
from shipyard.core.errors import InvalidInputError, NotFoundError
from shipyard.workspace import Workspace

from .monitor_support import FEATURES, HOUR, T0, deploy, label, make_frame, register, traffic


@pytest.fixture
def deployed(workspace: Workspace) -> Workspace:
    register(workspace)
    workspace.registry.promote("fraud", 1, "production")
    deploy(workspace)
    return workspace


def test_monitor_is_versioned_only_when_its_spec_changes(deployed: Workspace) -> None:
    ref = make_frame(500, 10)
    first = sy.monitor("m", "fraud-svc", reference=ref, checks=[sy.checks.feature_drift()])
    again = sy.monitor("m", "fraud-svc", reference=ref, checks=[sy.checks.feature_drift()])
    assert (first.version, again.version) == (1, 1)
    changed = sy.monitor("m", "fraud-svc", reference=ref, window=500, checks=[sy.checks.feature_drift()])
    assert changed.version == 2 and changed.window.count == 500
    assert [m.name for m in deployed.monitors.list()] == ["m"]
    assert deployed.monitors.get("m", 1).window.ms == HOUR


def test_create_refuses_bad_input(deployed: Workspace) -> None:
    with pytest.raises(NotFoundError):
        sy.monitor("m", "nope", reference=make_frame(10, 1), checks=[sy.checks.feature_drift()])
    with pytest.raises(InvalidInputError, match="need a reference"):
        sy.monitor("m", "fraud-svc", checks=[sy.checks.feature_drift()])
    with pytest.raises(InvalidInputError, match="window"):
        sy.monitor("m", "fraud-svc", reference=make_frame(10, 1), window="soon")
    with pytest.raises(InvalidInputError, match="share a name"):
        sy.monitor("m", "fraud-svc", checks=[sy.checks.latency(), sy.checks.latency()])
    with pytest.raises(InvalidInputError, match="no such content"):
        sy.monitor("m", "fraud-svc", reference="content:blake3:" + "0" * 64, checks=[sy.checks.latency()])
    with pytest.raises(InvalidInputError, match="Prometheus duration"):
        deployed.monitors.alert_rules("5 minutes")


def test_empty_window_says_so_without_alerting(deployed: Workspace) -> None:
    sy.monitor("m", "fraud-svc", reference=make_frame(300, 1), checks=[sy.checks.feature_drift()])
    result = deployed.monitors.run("m", now=T0)
    assert result.status == "no_data" and result.n_predictions == 0
    assert "no predictions" in result.notes[0]
    assert deployed.monitors.alerts() == []


def test_drift_fires_then_resolves_and_reference_extra_columns_are_noted(deployed: Workspace) -> None:
    reference = make_frame(1000, 1).assign(extra=1.0)  # "fraud" and "extra" are not inputs
    sy.monitor(
        "m",
        "fraud-svc",
        reference=reference,
        checks=[sy.checks.feature_drift(), sy.checks.latency(p99_ms=50)],
    )
    traffic(deployed, make_frame(600, 2), T0)
    calm = deployed.monitors.run("m", now=T0 + HOUR)
    assert calm.status == "ok", calm.checks
    assert any("fraud" in n and "extra" in n for n in calm.notes)
    drift = calm.check("feature_drift")
    assert drift is not None and set(drift.figures["columns"]) == set(FEATURES)

    traffic(deployed, make_frame(600, 3, shift=150.0), T0 + HOUR)
    hot = deployed.monitors.run("m", now=T0 + 2 * HOUR)
    drift = hot.check("feature_drift")
    assert drift is not None and drift.status in ("warning", "critical")
    assert drift.figures["columns"]["amount"]["drifted"]
    firing = deployed.monitors.alerts(state="firing")
    assert [a.check for a in firing] == ["feature_drift"] and firing[0].result_id == hot.id
    events = [e for e in deployed.audit.list_events() if e.action == "alert.fired"]
    assert [e.target for e in events] == ["monitor:m"]

    traffic(deployed, make_frame(600, 4), T0 + 2 * HOUR)
    back = deployed.monitors.run("m", now=T0 + 3 * HOUR)
    assert back.status == "ok"
    assert deployed.monitors.alerts(state="firing") == []
    assert deployed.monitors.alerts(state="resolved")[0].resolved_at == T0 + 3 * HOUR
    assert [r.id for r in deployed.monitors.results("m")] == [back.id, hot.id, calm.id]


def test_count_window_and_performance_with_late_labels(deployed: Workspace) -> None:
    sy.monitor(
        "perf",
        "fraud-svc",
        window=200,
        checks=[sy.checks.performance("accuracy", min=0.99), sy.checks.error_rate(max=0.05)],
    )
    frame = make_frame(300, 5)
    ids = traffic(deployed, frame, T0, errors=30)
    unlabelled = deployed.monitors.run("perf", now=T0 + HOUR)
    assert unlabelled.n_predictions == 200
    perf = unlabelled.check("performance:accuracy")
    assert perf is not None and perf.status == "skipped"
    errors = unlabelled.check("error_rate")
    assert errors is not None and errors.value == 0.0  # the 30 failures are older than the last 200
    label(deployed, ids, frame)
    labelled = deployed.monitors.run("perf", now=T0 + HOUR)
    perf = labelled.check("performance:accuracy")
    assert perf is not None and perf.status == "critical"
    assert 0.5 < perf.figures["by_version"]["fraud:1"] < 0.99


def test_due_monitors_follow_their_windows(deployed: Workspace) -> None:
    sy.monitor("m", "fraud-svc", checks=[sy.checks.latency()], window="1h")
    assert [m.name for m in deployed.monitors.due_monitors(T0)] == ["m"]
    deployed.monitors.run_due(T0)
    assert deployed.monitors.due_monitors(T0 + HOUR // 2) == []
    assert [m.name for m in deployed.monitors.due_monitors(T0 + HOUR)] == ["m"]


def test_dataset_reference(deployed: Workspace, tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "ref.parquet"
    make_frame(500, 1).to_parquet(path)
    version = deployed.datasets.add(path, "transactions")
    monitor = sy.monitor("m", "fraud-svc", reference=version.ref, checks=[sy.checks.data_quality()])
    assert monitor.reference == version.ref
    traffic(deployed, make_frame(100, 2).assign(age=lambda f: f["age"] + 100.0), T0)
    result = deployed.monitors.run("m", now=T0 + HOUR)
    quality = result.check("data_quality")
    assert quality is not None and quality.status != "ok"
    assert any(c["check"] == "out_of_range" and c["failed"] for c in quality.figures["checks"])
    assert isinstance(deployed.monitors.reference_frame(monitor), pd.DataFrame)


def test_html_report_and_cli(deployed: Workspace, tmp_path: object) -> None:
    from pathlib import Path

    from typer.testing import CliRunner

    from shipyard.cli.main import app

    folder = Path(str(tmp_path))
    make_frame(800, 1).to_parquet(folder / "ref.parquet")
    ref = deployed.datasets.add(folder / "ref.parquet", "transactions").ref
    (folder / "m.yaml").write_text(
        f"name: m\ndeployment: fraud-svc\nreference: {ref}\nwindow: 1h\n"
        "checks:\n  - {kind: feature_drift}\n"
        "  - {kind: performance, metric: accuracy, min: 0.6, min_labels: 10}\n"
    )
    runner = CliRunner()
    done = runner.invoke(app, ["monitors", "create", str(folder / "m.yaml"), "--json"])
    assert done.exit_code == 0, done.output
    frame = make_frame(300, 2, shift=150.0).assign(age=lambda f: f["age"].astype(float))
    label(deployed, traffic(deployed, frame, T0, prefix="<b>"), frame)
    deployed.monitors.run("m", now=T0 + HOUR)
    listed = runner.invoke(app, ["alerts", "list", "--state", "firing", "--json"])
    assert listed.exit_code == 0, listed.output
    assert "feature_drift" in listed.output
    shown = runner.invoke(app, ["monitors", "show", "m"])
    assert shown.exit_code == 0 and "feature_drift" in shown.output, shown.output
    out = folder / "report.html"
    done = runner.invoke(app, ["monitors", "report", "m", "--html", str(out)])
    assert done.exit_code == 0, done.output
    html = out.read_text()
    assert html.count("data:image/png;base64,") >= 3  # two features + performance over time
    assert "amount" in html and ("wasserstein" in html or "ks" in html)
    bad = runner.invoke(app, ["monitors", "run", "nope"])
    assert bad.exit_code != 0
