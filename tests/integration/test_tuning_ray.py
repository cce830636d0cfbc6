"""Tuning on a real local Ray cluster (``ray.init(num_cpus=2)``): trials in parallel as child runs,
the same trials for the same seed and ``parallel``, pruning from the workers through the study's store.

Without Ray installed the tests skip, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shipyard.core.config import load_settings
from shipyard.tuning.service import TuningService
from shipyard.workspace import Workspace
from tests.conftest import service_missing
from tests.unit.tuning import objectives
from tests.unit.tuning.objectives import SPACE

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    try:
        import ray
    except ImportError as exc:
        service_missing("Ray", f"ray is not installed: pip install 'shipyard[ray]' ({exc})")
    if ray.is_initialized():
        ray.shutdown()
    if os.environ.get("RAY_ADDRESS"):
        ray.init(log_to_driver=False)
    else:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def tuning(home: Path) -> Iterator[TuningService]:
    workspace = Workspace(load_settings())
    yield workspace.tuning
    workspace.close()


def test_trials_run_in_parallel_on_ray_as_child_runs(ray_cluster: Any, tuning: TuningService) -> None:
    result = tuning.tune(
        objectives.with_trial, SPACE, n_trials=6, executor="ray", parallel=2, seed=1, pruner=None
    )
    assert result.trials["state"].tolist() == ["complete"] * 6
    seen = set()
    for run_id in result.trials["run_id"]:
        run = tuning.tracking.get_run(run_id)
        assert run.tags["shipyard.parent_run_id"] == result.run_id
        assert run.metrics["seen_run"] == 1.0
        seen.add(run_id)
    assert len(seen) == 6
    parent = tuning.tracking.get_run(result.run_id)
    assert (
        parent.params["tune.executor"] == "ray" and parent.params["best.model"] == result.best_params["model"]
    )


def test_the_same_seed_and_parallel_give_the_same_trials_on_ray(
    ray_cluster: Any, tuning: TuningService
) -> None:
    runs = [
        tuning.tune(objectives.plain, SPACE, n_trials=12, executor="ray", parallel=2, seed=9, pruner=None)
        for _ in range(2)
    ]
    sequences = [list(zip(r.trials["params.lr"], r.trials["params.depth"], strict=True)) for r in runs]
    assert sequences[0] == sequences[1]
    assert runs[0].best_value == runs[1].best_value


def test_trials_on_ray_report_and_are_pruned(ray_cluster: Any, tuning: TuningService) -> None:
    result = tuning.tune(
        objectives.learning, SPACE, n_trials=16, executor="ray", parallel=2, seed=3, study="ray-prune"
    )
    _, trials = tuning.get_study("ray-prune")
    assert {t.state for t in trials} <= {"complete", "pruned"}
    assert any(t.state == "pruned" for t in trials), "the median pruner stops some of 16 trials"
    for trial in trials:
        assert len(trial.intermediate) == 5 if trial.state == "complete" else len(trial.intermediate) < 5
    reports = tuning.tracking.get_metric_history(result.best_run_id or "", "value")
    assert list(reports.steps) == [0, 1, 2, 3, 4, 5], "five reports, then the final value"


def test_reports_without_a_pruner_reach_the_study(ray_cluster: Any, tuning: TuningService) -> None:
    tuning.tune(
        objectives.learning, SPACE, n_trials=2, executor="ray", parallel=2, seed=1, pruner=None, study="r"
    )
    _, trials = tuning.get_study("r")
    assert [len(t.intermediate) for t in trials] == [5, 5]
