"""Failures: retries with backoff, timeouts, skipped dependents, stored tracebacks, resume."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.core.errors import ConflictError
from shipyard.pipelines.models import PipelineStatus, StepStatus
from shipyard.pipelines.service import PipelineService

from . import flows


def test_a_step_that_fails_is_retried_until_it_succeeds(service: PipelineService, tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    run = service.run(flows.unreliable, {"counter": str(counter), "failures": 2})
    assert run.status is PipelineStatus.SUCCEEDED
    flaky = service.list_steps(run.id)[0]
    assert (flaky.node, flaky.status, flaky.attempts, flaky.error) == ("flaky", StepStatus.SUCCEEDED, 3, None)
    assert service.output(run.id, "flaky") == "ok after 3"
    assert counter.read_text() == "3"


def test_after_the_last_attempt_the_run_fails_and_dependents_are_skipped(
    service: PipelineService, tmp_path: Path
) -> None:
    run = service.run(flows.unreliable, {"counter": str(tmp_path / "attempts"), "failures": 10})
    assert run.status is PipelineStatus.FAILED
    steps = {s.node: s for s in service.list_steps(run.id)}
    assert steps["flaky"].status is StepStatus.FAILED and steps["flaky"].attempts == 3
    error = steps["flaky"].error or ""
    assert "Traceback (most recent call last)" in error
    assert "RuntimeError: flaky failure on attempt 3" in error
    assert steps["echo"].status is StepStatus.SKIPPED and steps["echo"].attempts == 0
    assert "'flaky' failed" in (steps["echo"].error or "")
    assert steps["total"].status is StepStatus.SUCCEEDED, "an independent branch still runs"
    assert run.error is not None and "'flaky'" in run.error and "flaky failure on attempt 3" in run.error
    tracked = service.tracking.get_run(run.tracking_run_id or "")
    assert tracked.status.value == "failed"


def test_a_timeout_kills_the_attempt_and_counts_as_a_failure(service: PipelineService) -> None:
    run = service.run(flows.slow, {"seconds": 60.0})
    steps = {s.node: s for s in service.list_steps(run.id)}
    assert run.status is PipelineStatus.FAILED
    assert steps["sleepy"].status is StepStatus.FAILED and steps["sleepy"].attempts == 2
    assert "timed out after 0.5 s (attempt 2)" in (steps["sleepy"].error or "")
    assert steps["after"].status is StepStatus.SUCCEEDED


def test_a_step_with_a_timeout_that_finishes_in_time_succeeds(service: PipelineService) -> None:
    run = service.run(flows.slow, {"seconds": 0.01})
    assert run.status is PipelineStatus.SUCCEEDED
    assert service.output(run.id, "1") == 0.01


def test_resume_reruns_from_the_failure_and_reuses_what_succeeded(
    service: PipelineService, tmp_path: Path
) -> None:
    flag, counter = tmp_path / "flag", tmp_path / "calls"
    failed = service.run(flows.fragile, {"flag": str(flag), "counter": str(counter)})
    assert failed.status is PipelineStatus.FAILED
    before = {s.node: s.status.value for s in service.list_steps(failed.id)}
    assert before == {
        "count_calls": "succeeded",
        "fail_unless": "failed",
        "numbers": "succeeded",
        "total": "succeeded",
        "after": "skipped",
    }
    assert "ValueError: the flag file" in (service.list_steps(failed.id)[1].error or "")
    flag.write_text("go")
    service.clear_cache()  # resume reuses the failed run's outputs, not the cache
    resumed = service.resume(failed.id)
    assert resumed.status is PipelineStatus.SUCCEEDED and resumed.resumed_from == failed.id
    after = {s.node: s.status.value for s in service.list_steps(resumed.id)}
    assert after == {
        "count_calls": "cached",
        "fail_unless": "succeeded",
        "numbers": "cached",
        "total": "cached",
        "after": "succeeded",
    }
    assert counter.read_text() == "1", "the step that succeeded did not run again"
    assert service.output(resumed.id) == {"guarded": 51, "side": 3}
    with pytest.raises(ConflictError, match="only a failed run can be resumed"):
        service.resume(resumed.id)


def test_an_unsupported_output_fails_the_step_naming_it_and_its_type(service: PipelineService) -> None:
    run = service.run(flows.returns_opaque)
    step = service.list_steps(run.id)[0]
    assert run.status is PipelineStatus.FAILED and step.attempts == 1
    assert step.error is not None
    assert "step 'opaque' returned a tests.unit.pipelines.flows.Opaque" in step.error
