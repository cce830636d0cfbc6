"""The functions behind ``sy.pipelines``: run pipelines, resume them, read what they made."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shipyard.pipelines.materializers import register_materializer
from shipyard.workspace import current_workspace

if TYPE_CHECKING:
    from shipyard.pipelines.executor import Executor
    from shipyard.pipelines.models import PipelineRequest, PipelineRun, Schedule, StepRun, Trigger
    from shipyard.pipelines.pipeline import Pipeline

__all__ = [
    "clear_cache",
    "get",
    "list",
    "output",
    "register_materializer",
    "resume",
    "run",
    "schedule",
    "schedules",
    "start_pipeline",
    "step_runs",
    "unschedule",
]


def run(
    pipeline: Pipeline | str,
    params: Mapping[str, Any] | None = None,
    *,
    executor: str | Executor = "local",
    cache: bool = True,
    experiment: str | None = None,
    progress: Callable[[StepRun], None] | None = None,
) -> PipelineRun:
    """Run a pipeline (or the one named ``"module:attribute"``) and return the ended run.

    ``executor``: ``"local"`` (default) or ``"ray"``; ``cache=False`` runs every step;
    ``experiment`` (default: the pipeline's name) holds the tracked runs;
    ``progress`` is called with each step's new state.
    """
    return current_workspace().pipelines.run(
        pipeline, params, executor=executor, cache=cache, experiment=experiment, progress=progress
    )


def resume(
    run_id: str, *, pipeline: Pipeline | None = None, executor: str | Executor | None = None
) -> PipelineRun:
    """Run a failed run again, reusing the outputs of the steps that succeeded."""
    return current_workspace().pipelines.resume(run_id, pipeline=pipeline, executor=executor)


def get(run_id: str) -> PipelineRun:
    """A pipeline run by id (or unique prefix or suffix of its id)."""
    return current_workspace().pipelines.find_run(run_id)


def list(pipeline: str | None = None, limit: int = 100) -> builtins.list[PipelineRun]:
    """Pipeline runs (of ``pipeline``, or all), newest first."""
    return current_workspace().pipelines.list_runs(pipeline, limit)


def step_runs(run_id: str) -> builtins.list[StepRun]:
    """The steps of a pipeline run in graph order: status, attempts, duration, cache hit, outputs."""
    service = current_workspace().pipelines
    return service.list_steps(service.find_run(run_id).id)


def output(run_id: str, name: str | None = None) -> Any:
    """A value a run made: its output (``name`` among several), or a step's (``"node"``/``"node.output"``)."""
    service = current_workspace().pipelines
    return service.output(service.find_run(run_id).id, name)


def clear_cache(step: str | None = None) -> int:
    """Forget cached step outputs (of one step, by qualified name ``module.function``, or all)."""
    return current_workspace().pipelines.clear_cache(step)


def schedule(
    pipeline: Pipeline | str,
    schedule: str | None = None,
    *,
    triggers: Sequence[Trigger] | None = None,
    catchup: bool = False,
    params: Mapping[str, Any] | None = None,
) -> Schedule:
    """Have ``shipyard scheduler`` start ``pipeline`` (or its ``"module:attribute"``) on its cron
    schedule and triggers (by default the ones given to ``@sy.pipeline``)."""
    return current_workspace().scheduler.add(
        pipeline, schedule=schedule, triggers=triggers, catchup=catchup, params=params
    )


def unschedule(pipeline: Pipeline | str) -> Schedule:
    """Stop scheduling a pipeline (by ``"module:attribute"`` or schedule id)."""
    ref = pipeline if isinstance(pipeline, str) else (pipeline.source or pipeline.name)
    return current_workspace().scheduler.remove(ref)


def schedules() -> builtins.list[Schedule]:
    """The pipelines the scheduler starts, by ref."""
    return current_workspace().scheduler.list()


def start_pipeline(
    pipeline: Pipeline | str, params: Mapping[str, Any] | None = None, reason: str = "", *, check: bool = True
) -> PipelineRequest:
    """Ask the scheduler to run ``pipeline`` once with ``params``: recorded now, claimed and run by
    the next pass of a running ``shipyard scheduler`` (see ``docs/pipelines.md``). ``check=False``
    records a ``"module:attribute"`` ref without importing it here."""
    return current_workspace().scheduler.request(pipeline, params, reason, check=check)
