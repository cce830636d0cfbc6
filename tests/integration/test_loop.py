"""The closed loop with real components in one embedded home: a production model serves traffic,
drift is injected, the monitor fires, the scheduler runs the retrain pipeline on fresh data, the
new version is evaluated against the champion's gates, goes out as a canary, and canary analysis
promotes it, or (when it is made deliberately worse) aborts it and leaves production as it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import shipyard as sy
from shipyard.workspace import Workspace, set_workspace

from .loop_pipeline import FEATURES, world

HOUR = 3_600_000
T0 = 1_700_000_000_000
SHIFT = 150.0


@pytest.fixture
def ws(home: Path) -> Iterator[Workspace]:
    workspace = Workspace()
    set_workspace(workspace)
    yield workspace
    set_workspace(None)


def serve(ws: Workspace, frame: pd.DataFrame, start: int, tag: str) -> None:
    """Answer ``frame`` as the data plane would (route picked by weight), log it and send the labels."""
    routes = [r for r in ws.serving.resolve("fraud-svc") if r.route.weight > 0]
    records: list[dict[str, Any]] = []
    labels = []
    share = 0
    for route in routes:
        take = frame.iloc[share : share + round(len(frame) * route.route.weight / 100)]
        share += len(take)
        model = ws.models.load(route.model_uri)
        proba, pred = model.predict_proba(take[FEATURES]), model.predict(take[FEATURES])
        for i in range(len(take)):
            request_id = f"{tag}-{route.route.name}-{i}"
            records.append(
                {
                    "request_id": request_id,
                    "ts_ms": start + i * 1000,
                    "deployment": "fraud-svc",
                    "route": route.route.name,
                    "model_version": f"fraud:{route.model_version}",
                    "inputs": {c: float(take[c].iloc[i]) for c in FEATURES},
                    "prediction": int(pred[i]),
                    "probabilities": [float(p) for p in proba[i]],
                    "latency_ms": 4.0 + (i % 5) * 0.2,
                    "shadow": False,
                }
            )
            labels.append({"request_id": request_id, "label": int(take["fraud"].iloc[i])})
    ws.serving.write_segment("fraud-svc", records)
    assert ws.serving.record_feedback(labels)["accepted"] == len(labels)


def start_production(ws: Workspace, tmp: Path, flip: bool) -> None:
    train = world(2000, 1)
    model = LogisticRegression(max_iter=1000).fit(train[FEATURES], train["fraud"])
    run = ws.tracking.create_run("champion")
    v1 = ws.registry.register(
        "fraud", ws.models.log_model(run.id, model, input_example=train[FEATURES].head())
    )
    ws.registry.promote("fraud", v1.version, "production")
    world(1000, 7, SHIFT).to_parquet(tmp / "fresh.parquet")
    holdout = ws.datasets.add(tmp / "fresh.parquet", "fresh").ref
    ws.registry.set_policy("fraud", "production", [sy.gates.beats_champion("accuracy", dataset=holdout)])
    ws.serving.deploy("fraud-svc", "fraud@production")
    sy.monitor(
        "fraud-drift",
        "fraud-svc",
        reference=train,
        window="1h",
        checks=[sy.checks.feature_drift(), sy.checks.performance("accuracy", min=0.8, min_labels=50)],
        actions=[
            sy.actions.retrain(
                "tests.integration.loop_pipeline:retrain",
                params={"shift": SHIFT, "flip": flip, "holdout": holdout},
                on="warning",
            ),
            sy.actions.canary(promote_after=2),
        ],
    )


def drift_fires_and_retrain_runs(ws: Workspace) -> int:
    serve(ws, world(500, 2), T0, "calm")
    calm = ws.monitors.run("fraud-drift", now=T0 + HOUR)
    assert calm.status == "ok", calm.checks
    serve(ws, world(500, 3, SHIFT), T0 + HOUR, "drift")
    hot = ws.monitors.run("fraud-drift", now=T0 + 2 * HOUR)
    assert hot.check("feature_drift").status in ("warning", "critical")  # type: ignore[union-attr]
    assert {a["action"]: a["status"] for a in hot.actions}["retrain"] == "ok", hot.actions
    assert [e.target for e in ws.audit.list_events() if e.action == "alert.fired"][:1] == [
        "monitor:fraud-drift"
    ]
    claims = ws.scheduler.scheduler().run_once()
    assert [c.status.value if hasattr(c.status, "value") else c.status for c in claims] == ["succeeded"], (
        claims
    )
    version = ws.registry.get_model("fraud").latest_version
    assert version == 2 and ws.registry.list_evaluations("fraud", 2)
    ws.serving.deploy("fraud-svc", "fraud@production", canary=f"fraud:{version}=30%")
    return version


def test_loop_promotes_a_better_model(ws: Workspace, tmp_path: Path) -> None:
    start_production(ws, tmp_path, flip=False)
    version = drift_fires_and_retrain_runs(ws)
    canary = []
    for k in range(2):
        serve(ws, world(600, 10 + k, SHIFT), T0 + (2 + k) * HOUR, f"canary{k}")
        canary.append(ws.monitors.run("fraud-drift", now=T0 + (3 + k) * HOUR).canary)
    assert [c["status"] for c in canary] == ["passed", "promoted"], canary  # type: ignore[index]
    assert ws.registry.aliases("fraud")["production"] == version
    change = ws.registry.history("fraud", "production")[-1]
    assert change.report is not None and change.report["passed"]
    assert [r.model_version for r in ws.serving.resolve("fraud-svc") if r.route.weight > 0] == [version]


def test_loop_aborts_a_worse_model(ws: Workspace, tmp_path: Path) -> None:
    start_production(ws, tmp_path, flip=True)
    drift_fires_and_retrain_runs(ws)
    serve(ws, world(600, 10, SHIFT), T0 + 2 * HOUR, "canary0")
    result = ws.monitors.run("fraud-drift", now=T0 + 3 * HOUR)
    assert result.canary is not None and result.canary["status"] == "aborted", result.canary
    assert ws.registry.aliases("fraud")["production"] == 1
    canary_route = ws.serving.get("fraud-svc").spec.route("canary")
    assert canary_route is not None and canary_route.weight == 0
    assert [r.model_version for r in ws.serving.resolve("fraud-svc") if r.route.weight > 0] == [1]
