"""Where the local executor runs steps: the driver, a pool of workers, a process of their own."""

from __future__ import annotations

import os

from shipyard.pipelines.local_executor import LocalExecutor
from shipyard.pipelines.models import PipelineStatus
from shipyard.pipelines.service import PipelineService

from . import flows


def test_steps_ready_together_run_in_workers_and_a_step_alone_in_the_driver(service: PipelineService) -> None:
    run = service.run(flows.where, cache=False)
    first, second, last = service.output(run.id)
    assert os.getpid() not in (first, second), "independent branches run in worker processes"
    assert last == os.getpid(), "a step with nothing else to run beside it runs in the driver"


def test_a_process_that_dies_fails_its_step(service: PipelineService) -> None:
    run = service.run(flows.crashing, {"code": 3})
    step = service.list_steps(run.id)[0]
    assert run.status is PipelineStatus.FAILED
    assert step.error == "the step's process ended with exit code 3 before it returned"


def test_spawned_workers_import_the_steps_by_name(service: PipelineService) -> None:
    executors = [LocalExecutor(2, "spawn"), LocalExecutor(2, "fork")]
    try:
        spawned, forked = (
            service.run(flows.arithmetic, {"n": 7}, executor=e, cache=False) for e in executors
        )
    finally:
        for executor in executors:
            executor.close()
    assert spawned.status is PipelineStatus.SUCCEEDED
    steps = [{s.node: s.outputs for s in service.list_steps(r.id)} for r in (spawned, forked)]
    assert steps[0] == steps[1]
