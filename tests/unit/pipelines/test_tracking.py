"""A pipeline run is a tracked run with one child run per step; lineage leads from outputs back."""

from __future__ import annotations

import time
from typing import Any

import pytest

import shipyard as sy
from shipyard.pipelines.service import PipelineService
from shipyard.tracking.models import RunRecord, RunStatus
from shipyard.workspace import current_workspace

from . import flows


def children(service: PipelineService, parent_id: str) -> dict[str, RunRecord]:
    found = service.tracking.search_runs(filter=f"tags.shipyard.parent_run_id = '{parent_id}'")
    return {r.name: r for r in found}


def test_the_run_and_each_step_are_tracked(service: PipelineService) -> None:
    run = service.run(flows.arithmetic, {"n": 5})
    parent = service.tracking.get_run(run.tracking_run_id or "")
    assert parent.status is RunStatus.FINISHED
    assert parent.params == {"n": "5", "factor": "2.0"}
    assert (
        parent.tags["shipyard.pipeline"] == "arithmetic" and parent.tags["shipyard.pipeline_run_id"] == run.id
    )
    assert "git" in parent.lineage
    steps = {s.node: s for s in service.list_steps(run.id)}
    tracked = children(service, parent.id)
    assert set(tracked) == set(steps)
    scale = tracked["scale"]
    assert scale.id == steps["scale"].tracking_run_id and scale.experiment_id == parent.experiment_id
    assert scale.status is RunStatus.FINISHED and scale.params == {"factor": "2.0"}
    assert scale.tags["shipyard.step"] == "tests.unit.pipelines.flows.scale"
    assert scale.tags["shipyard.attempts"] == "1" and scale.tags["shipyard.cache_hit"] == "false"
    assert scale.tags["shipyard.cache_key"] == steps["scale"].cache_key
    assert scale.tags["shipyard.source_digest"].startswith("sha256:")


def test_lineage_reaches_from_an_output_back_to_the_steps_code_and_data(service: PipelineService) -> None:
    run = service.run(flows.arithmetic, {"n": 5})
    steps = {s.node: s for s in service.list_steps(run.id)}
    tracked = children(service, run.tracking_run_id or "")
    # The pipeline's output "scaled" is an artifact of the step run that made it ...
    final = steps["total_2"].outputs["output"]
    [artifact] = service.tracking.list_artifacts(tracked["total_2"].id)
    assert (artifact.path, artifact.digest, artifact.size) == (
        "outputs/output.json",
        final.digest,
        final.size,
    )
    # ... whose input is the output of "scale", recorded with the run that made it ...
    [read] = service.tracking.list_inputs(tracked["total_2"].id)
    assert (read.kind, read.context) == ("step_output", "values")
    assert read.ref == f"runs:/{tracked['scale'].id}/outputs/output.json"
    assert read.digest == steps["scale"].outputs["output"].digest
    # ... and so on up to the first step, whose code and arguments are on its run.
    [first_read] = service.tracking.list_inputs(tracked["scale"].id)
    assert first_read.ref == f"runs:/{tracked['numbers'].id}/outputs/output.json"
    assert tracked["numbers"].params == {"n": "5"}
    assert service.tracking.list_inputs(tracked["numbers"].id) == []


def test_failed_and_skipped_steps_are_tracked_with_their_error(
    service: PipelineService, tmp_path: Any
) -> None:
    run = service.run(flows.unreliable, {"counter": str(tmp_path / "c"), "failures": 9})
    tracked = children(service, run.tracking_run_id or "")
    assert tracked["flaky"].status is RunStatus.FAILED
    assert "RuntimeError: flaky failure on attempt 3" in (tracked["flaky"].error or "")
    assert tracked["flaky"].tags["shipyard.attempts"] == "3"
    assert (
        tracked["echo"].status is RunStatus.KILLED
        and tracked["echo"].tags["shipyard.step_status"] == "skipped"
    )


def test_cached_steps_are_tracked_as_cache_hits(service: PipelineService) -> None:
    service.run(flows.arithmetic)
    again = service.run(flows.arithmetic)
    tracked = children(service, again.tracking_run_id or "")
    assert {r.tags["shipyard.cache_hit"] for r in tracked.values()} == {"true"}


def test_tracking_writes_are_batched(service: PipelineService, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: dict[str, int] = {"record_runs": 0, "create_run": 0, "save_steps": 0}
    tracking, store = service.tracking, service.store
    for target, name in ((tracking, "record_runs"), (tracking, "create_run"), (store, "save_steps")):
        original = getattr(target, name)

        def counted(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(target, name, counted)
    monkeypatch.setattr(service, "flush_interval_s", 3600.0)
    run = service.run(flows.branches)
    assert len(service.list_steps(run.id)) == 12
    assert len(children(service, run.tracking_run_id or "")) == 12
    assert calls == {"record_runs": 1, "create_run": 1, "save_steps": 0}, "one write of all steps, at the end"


@sy.step
def watch_myself(timeout_s: float) -> str:
    """Wait until this step's own record says ``running`` in the store (written by the recorder)."""
    service = current_workspace().pipelines
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        [run] = service.list_runs(limit=1)
        if service.list_steps(run.id)[0].status.value == "running":
            return "seen running"
        time.sleep(0.05)
    return "never seen running"


@sy.pipeline
def watched():
    return watch_myself(30.0)


def test_a_running_steps_state_is_written_while_it_runs(service: PipelineService) -> None:
    run = service.run(watched, cache=False)
    assert service.output(run.id) == "seen running"
