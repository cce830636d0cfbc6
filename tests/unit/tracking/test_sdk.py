"""The tracking SDK end to end on the embedded store (SQLite + local folder)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import shipyard as sy
from shipyard.workspace import set_workspace


@pytest.fixture(autouse=True)
def fresh_workspace(home: Path) -> object:
    set_workspace(None)
    yield home
    set_workspace(None)


def test_run_finishes_and_everything_is_durable() -> None:
    with sy.start_run(experiment="exp", run_name="first", tags={"team": "risk"}) as run:
        run.log_params({"lr": 0.1, "model": "rf"})
        for step in range(50):
            run.log_metric("loss", 1 / (step + 1), step=step)
        run.set_tag("stage", "dev")
    record = sy.get_run(run.id)
    assert record.status is sy.RunStatus.FINISHED and record.end_time is not None
    assert record.params == {"lr": "0.1", "model": "rf"}
    assert record.tags == {"team": "risk", "stage": "dev"}
    assert record.metrics["loss"] == pytest.approx(1 / 50)
    history = sy.get_metric_history(run.id, "loss")
    assert list(history.columns) == ["step", "value", "timestamp"]
    assert history["step"].tolist() == list(range(50))
    assert history["value"].tolist() == [1 / (s + 1) for s in range(50)]


def test_failed_block_marks_run_failed_with_the_exception() -> None:
    with pytest.raises(ZeroDivisionError), sy.start_run(experiment="exp") as run:
        run.log_metric("x", 1.0)
        _ = 1 / 0
    record = sy.get_run(run.id)
    assert record.status is sy.RunStatus.FAILED
    assert record.error is not None and "ZeroDivisionError" in record.error
    assert record.metrics == {"x": 1.0}, "metrics logged before the failure are kept"


def test_params_are_immutable() -> None:
    with sy.start_run(experiment="exp") as run:
        run.log_param("lr", 0.1)
        run.log_param("lr", 0.1)  # same value again is fine
        with pytest.raises(sy.ConflictError, match="lr"):
            run.log_params({"lr": 0.2, "depth": 3})
    assert sy.get_run(run.id).params == {"lr": "0.1"}, "nothing of the refused call was written"


def test_default_steps_count_up_per_key() -> None:
    with sy.start_run(experiment="exp") as run:
        for value in (3.0, 2.0, 1.0):
            run.log_metric("loss", value)
        run.log_metrics({"a": 1.0, "b": 2.0})
        run.log_metrics({"a": 3.0})
    assert sy.get_metric_history(run.id, "loss")["step"].tolist() == [0, 1, 2]
    assert sy.get_metric_history(run.id, "a")["step"].tolist() == [0, 1]


def test_non_finite_values_are_stored_as_such() -> None:
    with sy.start_run(experiment="exp") as run:
        run.log_metrics({"nan": math.nan, "pinf": math.inf, "ninf": -math.inf}, step=0)
    record = sy.get_run(run.id)
    assert math.isnan(record.metrics["nan"])
    assert record.metrics["pinf"] == math.inf and record.metrics["ninf"] == -math.inf
    assert math.isnan(sy.get_metric_history(run.id, "nan")["value"][0])


@pytest.mark.parametrize("key", ["", "a\nb", "../up", "/abs", "x" * 300, "semi;colon", "naïve"])
def test_bad_metric_keys_fail_at_once(key: str) -> None:
    with sy.start_run(experiment="exp") as run:
        with pytest.raises(sy.InvalidInputError):
            run.log_metric(key, 1.0)
        with pytest.raises(sy.InvalidInputError):
            run.log_param(key, 1)
    assert sy.get_run(run.id).metrics == {}


def test_bad_values_are_refused() -> None:
    with sy.start_run(experiment="exp") as run:
        with pytest.raises(sy.InvalidInputError, match="must be a number"):
            run.log_metric("loss", "low")  # type: ignore[arg-type]
        with pytest.raises(sy.InvalidInputError, match="limit"):
            run.log_param("blob", "x" * 10_000)
        with pytest.raises(sy.InvalidInputError, match="integer"):
            run.log_metric("loss", 1.0, step=1.5)  # type: ignore[arg-type]


def test_fluent_api_needs_an_active_run() -> None:
    with pytest.raises(sy.InvalidInputError, match="no active run"):
        sy.log_metric("loss", 1.0)
    with sy.start_run(experiment="exp") as run:
        sy.log_metric("loss", 1.0)
        sy.log_param("p", 1)
        sy.set_tag("t", "v")
        assert sy.active_run() is run
    assert sy.active_run() is None
    assert sy.get_run(run.id).params == {"p": "1"}


def test_unknown_run_is_not_found() -> None:
    with pytest.raises(sy.NotFoundError):
        sy.get_run("0" * 32)
    with pytest.raises(sy.NotFoundError):
        sy.get_metric_history("nope", "loss")


def test_search_runs_returns_a_frame() -> None:
    for lr, auc in ((0.1, 0.7), (0.01, 0.9), (0.001, 0.8)):
        with sy.start_run(experiment="search") as run:
            run.log_params({"lr": lr})
            run.log_metric("auc", auc)
    frame = sy.search_runs(experiment="search", filter="metrics.auc > 0.75", order_by="metrics.auc desc")
    assert isinstance(frame, pd.DataFrame)
    assert frame["metrics.auc"].tolist() == [0.9, 0.8]
    assert frame["params.lr"].tolist() == ["0.01", "0.001"]
    assert {"run_id", "status", "start_time", "end_time"} <= set(frame.columns)
    with pytest.raises(sy.InvalidInputError, match="position"):
        sy.search_runs(filter="metrics.auc >> 1")


def test_artifacts_file_and_folder_round_trip(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"\x00\x01" * 1000)
    (folder / "sub" / "config.json").write_text("{}")
    single = tmp_path / "report.txt"
    single.write_text("ok")
    with sy.start_run(experiment="art") as run:
        run.log_artifact(folder, "model")
        run.log_artifact(single)
        with pytest.raises(sy.InvalidInputError):
            run.log_artifact(single, "../escape.txt")
    paths = set(sy.download_artifacts(run.id, tmp_path / "out"))
    assert paths == {
        tmp_path / "out" / p for p in ("model/weights.bin", "model/sub/config.json", "report.txt")
    }
    assert (tmp_path / "out" / "model" / "weights.bin").read_bytes() == b"\x00\x01" * 1000


def test_lineage_captures_git_commit_and_dirty_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.email=a@b", "-c", "user.name=a"]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "train.py").write_text("print(1)\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout
    monkeypatch.chdir(repo)
    with sy.start_run(experiment="lineage") as clean:
        pass
    (repo / "train.py").write_text("print(2)\n")
    with sy.start_run(experiment="lineage") as dirty:
        pass
    clean_git = sy.get_run(clean.id).lineage["git"]
    dirty_git = sy.get_run(dirty.id).lineage["git"]
    assert clean_git["commit"] == commit.strip() and clean_git["dirty"] is False
    assert dirty_git["dirty"] is True and dirty_git["diff_digest"].startswith("sha256:")
    lineage = sy.get_run(clean.id).lineage
    assert lineage["python"] == ".".join(map(str, sys.version_info[:3]))
    assert {"host", "user", "command"} <= set(lineage)


SCRIPT = """
import os, sys
import shipyard as sy
run = sy.start_run(experiment="crash")
print(run.id, flush=True)
for i in range(1000):
    run.log_metric("m", float(i), step=i)
run.flush()
if sys.argv[1] == "kill":
    for i in range(1000, 1010):
        run.log_metric("m", float(i), step=i)
    os._exit(9)   # hard kill: no atexit, no flush
for i in range(1000, 2000):
    run.log_metric("m", float(i), step=i)
# normal interpreter exit without flush or end: atexit writes the rest
"""


@pytest.mark.parametrize("mode", ["kill", "exit"])
def test_what_survives_a_dead_process(mode: str, home: Path) -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=False)
    run_id = done.stdout.strip()
    history = sy.get_metric_history(run_id, "m")
    if mode == "kill":
        assert len(history) >= 1000, "everything flushed before the kill is durable"
    else:
        assert len(history) == 2000, "interpreter exit flushes the buffer"
    record = sy.get_run(run_id)
    assert record.status is sy.RunStatus.RUNNING, "a dead process leaves its run running (gc marks it killed)"
