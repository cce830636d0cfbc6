"""``sy.tune`` on the local executor: seeded and repeatable, trials as child runs, best params on the
parent run, pruning, resuming a study, failures, and reading studies back."""

from __future__ import annotations

import pytest

import shipyard as sy
from shipyard.core.errors import AlreadyExistsError, InvalidInputError, NotFoundError, UserCodeError
from shipyard.tuning.service import TuningService
from shipyard.workspace import Workspace

from . import objectives
from .objectives import SPACE


def params_sequence(result: sy.tuning.TuneResult) -> list[tuple[object, ...]]:
    frame = result.trials
    return list(zip(frame["params.lr"], frame["params.depth"], frame["params.model"], strict=True))


def test_the_same_seed_gives_the_same_trials(tuning: TuningService) -> None:
    first = tuning.tune(objectives.plain, SPACE, n_trials=14, seed=7, study="a", pruner=None)
    second = tuning.tune(objectives.plain, SPACE, n_trials=14, seed=7, study="b", pruner=None)
    other = tuning.tune(objectives.plain, SPACE, n_trials=14, seed=8, study="c", pruner=None)
    assert params_sequence(first) == params_sequence(second)
    assert params_sequence(first) != params_sequence(other)
    assert first.best_params == second.best_params and first.best_value == second.best_value
    assert first.trials["number"].tolist() == list(range(14))
    assert set(first.trials["state"]) == {"complete"}


def test_trials_are_child_runs_and_the_best_is_logged_on_the_parent(workspace: Workspace) -> None:
    result = sy.tune(objectives.with_metrics, SPACE, n_trials=6, metric="roc_auc", seed=1, study="runs")
    children = sy.search_runs(filter=f"tags.shipyard.parent_run_id = '{result.run_id}'")
    assert len(children) == 6
    assert set(children["run_id"]) == set(result.trials["run_id"])
    best = sy.get_run(result.best_run_id or "")
    assert best.status is sy.RunStatus.FINISHED and best.tags["shipyard.trial_state"] == "complete"
    assert float(best.params["lr"]) == result.best_params["lr"]
    assert best.params["model"] == result.best_params["model"]
    assert best.metrics["roc_auc"] == result.best_value and best.metrics["seconds"] == 1.5
    assert result.best_value == max(result.trials["value"])
    parent = sy.get_run(result.run_id)
    assert parent.tags["shipyard.study"] == "runs" and parent.status is sy.RunStatus.FINISHED
    assert parent.params["best.depth"] == str(result.best_params["depth"])
    assert parent.params["space.lr"] == "loguniform(0.0001, 0.1)"
    assert parent.metrics["best.roc_auc"] == result.best_value
    assert parent.tags["shipyard.best_run_id"] == result.best_run_id


def test_minimize_and_the_trial_argument(tuning: TuningService) -> None:
    result = tuning.tune(objectives.with_trial, SPACE, n_trials=4, direction="minimize", seed=2)
    assert result.best_value == min(result.trials["value"])
    run = tuning.tracking.get_run(result.best_run_id or "")
    assert run.metrics["number"] == result.best_trial and run.metrics["seen_run"] == 1.0


def test_poor_trials_are_pruned_from_their_reports(tuning: TuningService) -> None:
    result = tuning.tune(objectives.learning, SPACE, n_trials=20, seed=3, study="pruning")
    states = result.trials.set_index("number")["state"]
    pruned = states[states == "pruned"].index.tolist()
    assert pruned, "the median pruner stops some of 20 trials"
    assert all(n >= 5 for n in pruned), "no pruning before the pruner's 5 startup trials"
    _, trials = tuning.get_study("pruning")
    for trial in trials:
        steps = len(trial.intermediate)
        assert steps < 5 if trial.state == "pruned" else steps == 5
        run = tuning.tracking.get_run(trial.run_id or "")
        assert run.tags["shipyard.trial_state"] == trial.state
        assert run.status is (sy.RunStatus.KILLED if trial.state == "pruned" else sy.RunStatus.FINISHED)
        history = tuning.tracking.get_metric_history(run.id, "value")
        assert list(history.steps)[:steps] == list(range(steps)), "reports are the metric's history"


def test_a_study_is_resumed_until_it_holds_n_trials(tuning: TuningService) -> None:
    first = tuning.tune(objectives.plain, SPACE, n_trials=5, seed=4, study="long", pruner=None)
    with pytest.raises(AlreadyExistsError, match="resume=True"):
        tuning.tune(objectives.plain, SPACE, n_trials=8, seed=4, study="long")
    with pytest.raises(InvalidInputError, match="another space"):
        tuning.tune(objectives.plain, {"lr": sy.uniform(0, 1)}, n_trials=8, study="long", resume=True)
    resumed = tuning.tune(objectives.plain, SPACE, n_trials=8, seed=4, study="long", resume=True, pruner=None)
    assert resumed.trials["number"].tolist() == list(range(8))
    assert params_sequence(resumed)[:5] == params_sequence(first)
    assert len(set(params_sequence(resumed))) == 8, "resuming does not draw the first points again"
    summary, _ = tuning.get_study("long")
    assert summary.runs == [first.run_id, resumed.run_id] and summary.counts == {"complete": 8}
    again = tuning.tune(objectives.plain, SPACE, n_trials=8, study="long", resume=True, seed=4, pruner=None)
    assert len(again.trials) == 8, "a study that has its trials runs no more"


def test_a_dead_sessions_running_trial_is_failed_on_resume(tuning: TuningService) -> None:
    import optuna

    tuning.tune(objectives.plain, SPACE, n_trials=2, seed=5, study="crashed", pruner=None)
    study = optuna.load_study(study_name="crashed", storage=tuning.storage())
    study.ask({k: d.to_optuna() for k, d in SPACE.items()})  # asked, never told: its process died
    resumed = tuning.tune(
        objectives.plain, SPACE, n_trials=4, seed=5, study="crashed", resume=True, pruner=None
    )
    assert resumed.trials["state"].tolist() == ["complete", "complete", "fail", "complete", "complete"]


def test_a_failing_objective_fails_the_search_and_keeps_the_traceback(tuning: TuningService) -> None:
    with pytest.raises(UserCodeError, match="trial 0 failed: ValueError: the objective broke") as caught:
        tuning.tune(objectives.broken, SPACE, n_trials=3, study="broken")
    run = tuning.tracking.get_run(caught.value.details["run_id"])
    assert run.status is sy.RunStatus.FAILED and "the objective broke" in (run.error or "")
    summary, trials = tuning.get_study("broken")
    assert [t.state for t in trials] == ["fail"] and summary.best_value is None
    parent = tuning.tracking.get_run(summary.runs[0])
    assert parent.status is sy.RunStatus.FAILED
    with pytest.raises(UserCodeError, match="not the metric 'roc_auc'"):
        tuning.tune(objectives.wrong_metric, SPACE, n_trials=1, metric="roc_auc")


def test_studies_are_listed_and_shown(tuning: TuningService) -> None:
    result = tuning.tune(objectives.plain, SPACE, n_trials=3, seed=6, study="shown", pruner=None)
    [summary] = [s for s in sy.tuning.studies() if s.name == "shown"]
    assert (summary.metric, summary.direction, summary.n_trials) == ("value", "maximize", 3)
    assert summary.best_run_id == result.best_run_id and summary.best_params == result.best_params
    assert summary.space["model"] == {"kind": "choice", "options": ["rf", "xgb"]}
    _, trials = sy.tuning.get_study("shown")
    assert [t.run_id for t in trials] == result.trials["run_id"].tolist()
    assert all(t.duration_ms is not None and t.duration_ms >= 0 for t in trials)
    with pytest.raises(NotFoundError):
        tuning.get_study("nope")


def test_bad_calls_are_refused_before_anything_runs(tuning: TuningService) -> None:
    for kwargs, message in (
        ({"n_trials": 0}, "n_trials"),
        ({"direction": "up"}, "direction"),
        ({"pruner": "sometimes"}, "unknown pruner"),
        ({"executor": "spark"}, "unknown executor"),
        ({"parallel": 2}, "one trial at a time"),
        ({"study": " "}, "study name"),
    ):
        with pytest.raises(InvalidInputError, match=message):
            tuning.tune(objectives.plain, SPACE, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"sy\.uniform"):
        tuning.tune(objectives.plain, {"lr": (0.1, 0.2)})  # type: ignore[dict-item]
    assert tuning.list_studies() == [], "nothing was created"


def test_an_interrupted_search_leaves_a_study_that_resumes(tuning: TuningService) -> None:
    with pytest.raises(KeyboardInterrupt):
        tuning.tune(objectives.interrupted, SPACE, n_trials=4, seed=1, study="ctrl-c", pruner=None)
    summary, trials = tuning.get_study("ctrl-c")
    assert [t.state for t in trials] == ["complete", "fail"]
    assert tuning.tracking.get_run(trials[1].run_id or "").status is sy.RunStatus.KILLED
    assert tuning.tracking.get_run(summary.runs[0]).status is sy.RunStatus.KILLED
    resumed = tuning.tune(
        objectives.plain, SPACE, n_trials=4, seed=1, study="ctrl-c", resume=True, pruner=None
    )
    assert resumed.trials["state"].tolist() == ["complete", "fail", "complete", "complete", "complete"]
