"""Canary analysis: promotion after passing windows, abort on a worse canary, gates still apply."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import shipyard as sy
from shipyard.monitoring.canary import compare
from shipyard.workspace import Workspace

from .monitor_support import HOUR, T0, deploy, label, make_frame, register, traffic


@pytest.fixture
def versions(workspace: Workspace) -> Workspace:
    register(workspace, seed=1)  # 1: production
    register(workspace, seed=2)  # 2: as good
    register(workspace, seed=3, flip=True)  # 3: deliberately worse
    workspace.registry.promote("fraud", 1, "production")
    return workspace


def _window(ws: Workspace, start: int, canary_version: int, seed: int, latency: float = 5.0) -> None:
    primary, canary = make_frame(300, seed), make_frame(300, seed + 100)
    label(ws, traffic(ws, primary, start, version=1, route="primary"), primary)
    label(ws, traffic(ws, canary, start, version=canary_version, route="canary", latency=latency), canary)


def _monitor(promote_after: int = 2) -> None:
    sy.monitor(
        "canary-watch", "fraud-svc", window="1h", actions=[sy.actions.canary(promote_after=promote_after)]
    )


def test_passing_canary_is_promoted_after_its_windows(versions: Workspace) -> None:
    deploy(versions, canary="fraud:2=20%")
    _monitor()
    _window(versions, T0, 2, seed=10)
    first = versions.monitors.run("canary-watch", now=T0 + HOUR)
    assert first.canary is not None and first.canary["status"] == "passed", first.canary
    assert first.canary["streak"] == 1
    assert {f["comparison"] for f in first.canary["findings"]} >= {"error_rate", "latency", "performance"}
    _window(versions, T0 + HOUR, 2, seed=20)
    second = versions.monitors.run("canary-watch", now=T0 + 2 * HOUR)
    assert second.canary is not None and second.canary["status"] == "promoted", second.canary
    assert versions.registry.aliases("fraud")["production"] == 2
    canary_route = versions.serving.get("fraud-svc").spec.route("canary")
    assert canary_route is not None and canary_route.weight == 0


def test_worse_canary_is_aborted(versions: Workspace) -> None:
    deploy(versions, canary="fraud:3=20%")
    _monitor()
    _window(versions, T0, 3, seed=10)
    result = versions.monitors.run("canary-watch", now=T0 + HOUR)
    assert result.canary is not None and result.canary["status"] == "aborted", result.canary
    assert "performance critical" in result.canary["detail"]
    spec = versions.serving.get("fraud-svc").spec
    assert spec.route("canary").weight == 0 and "aborted" in (spec.reason or "")  # type: ignore[union-attr]
    assert versions.registry.aliases("fraud")["production"] == 1


def test_gate_failure_is_recorded_not_raised(versions: Workspace) -> None:
    versions.registry.set_policy("fraud", "production", [sy.gates.approvals(1)])
    deploy(versions, canary="fraud:2=20%")
    _monitor(promote_after=1)
    _window(versions, T0, 2, seed=10)
    result = versions.monitors.run("canary-watch", now=T0 + HOUR)
    assert result.canary is not None and result.canary["status"] == "gate_failed", result.canary
    assert result.canary["gate_report"]["passed"] is False
    assert versions.registry.aliases("fraud")["production"] == 1


def test_slow_canary_is_a_latency_finding(workspace: Workspace) -> None:
    rng = np.random.default_rng(0)
    base = {"prediction": [1] * 200, "probabilities": [[0.4, 0.6]] * 200}
    primary = pd.DataFrame({**base, "latency_ms": rng.normal(5, 1, 200)})
    canary = pd.DataFrame({**base, "latency_ms": rng.normal(15, 1, 200)})
    findings = {f.comparison: f for f in compare(primary, canary, workspace.monitoring)}
    assert findings["latency"].status == "critical"
    assert findings["error_rate"].status == "ok"
    assert findings["prediction_distribution"].status == "ok"


def test_too_few_samples_neither_pass_nor_fail(versions: Workspace) -> None:
    deploy(versions, canary="fraud:2=20%")
    _monitor()
    traffic(versions, make_frame(5, 1), T0, version=2, route="canary")
    traffic(versions, make_frame(50, 1), T0, version=1, route="primary")
    result = versions.monitors.run("canary-watch", now=T0 + HOUR)
    assert result.canary is not None and result.canary["status"] == "insufficient"
