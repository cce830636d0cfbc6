"""Use cases of pipelines: run, resume, inspect, read outputs.

The service is the only door into a :class:`PipelineStore`; the SDK and the CLI go
through it. A pipeline run is also a tracked run (tags ``shipyard.pipeline`` and
``shipyard.pipeline_run_id``, the pipeline's parameters as params, the code
lineage), and each step is a tracked child run (tag ``shipyard.parent_run_id``)
whose artifacts are the step's outputs and whose inputs are the outputs it read.
So any output leads back to the step, the code and the data that made it.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import orjson

from shipyard.core.clock import now_ms
from shipyard.core.errors import ConflictError, InvalidInputError, NotFoundError
from shipyard.core.ids import new_id
from shipyard.pipelines.execution import Blobs, ContentSpec
from shipyard.pipelines.executor import Executor, make_executor
from shipyard.pipelines.loading import load_pipeline
from shipyard.pipelines.materializers import get_materializer
from shipyard.pipelines.models import OutputRef, PipelineRun, PipelineStatus, StepRun, StepStatus
from shipyard.pipelines.pipeline import Pipeline
from shipyard.pipelines.recording import Recorder
from shipyard.pipelines.runner import Runner
from shipyard.pipelines.store.base import PipelineStore

if TYPE_CHECKING:
    from shipyard.governance.service import AuditService
    from shipyard.tracking.service import TrackingService

Progress = Callable[[StepRun], None]
MAX_LIST = 10_000


class PipelineService:
    """Pipeline runs: start, resume, inspect, and read their outputs."""

    def __init__(
        self,
        store: PipelineStore,
        tracking: TrackingService,
        content: Blobs,
        content_spec: ContentSpec,
        *,
        audit: AuditService | None = None,
        capture_packages: bool = True,
        flush_interval_s: float = 0.5,
    ) -> None:
        self.store = store
        self.tracking = tracking
        self.content = content
        self.content_spec = content_spec
        self.audit = audit
        self.capture_packages = capture_packages
        self.flush_interval_s = flush_interval_s

    # -- running ---------------------------------------------------------------------
    def run(
        self,
        pipeline: Pipeline | str,
        params: Mapping[str, Any] | None = None,
        *,
        executor: str | Executor = "local",
        cache: bool = True,
        experiment: str | None = None,
        progress: Progress | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> PipelineRun:
        """Run ``pipeline`` (or the one named ``module:attribute``) with ``params``.

        Parameters are checked (and text converted to their types) before anything runs.
        ``cache=False`` runs every step (their new outputs still refresh the cache).
        ``tags`` are added to the tracked run (the scheduler says why it started the run).
        Returns the ended run: ``succeeded``, or ``failed`` with the failed steps'
        tracebacks in their step runs.
        """
        found = load_pipeline(pipeline) if isinstance(pipeline, str) else pipeline
        return self._run(found, found.bind(params), executor, cache, experiment, progress, tags=tags)

    def resume(
        self,
        run_id: str,
        *,
        pipeline: Pipeline | None = None,
        executor: str | Executor | None = None,
        progress: Progress | None = None,
    ) -> PipelineRun:
        """Run a failed run again as a new run: steps whose code, arguments and inputs are
        unchanged reuse the outputs they made; the failed ones and those after them run."""
        earlier = self.get_run(run_id)
        if earlier.status is not PipelineStatus.FAILED:
            raise ConflictError(
                f"pipeline run {earlier.id} is {earlier.status.value}: only a failed run can be resumed"
            )
        if pipeline is None:
            if earlier.source is None:
                raise InvalidInputError(
                    f"pipeline {earlier.pipeline!r} was not importable by name; pass it to resume()"
                )
            pipeline = load_pipeline(earlier.source)
        if pipeline.name != earlier.pipeline:
            raise InvalidInputError(
                f"run {earlier.id} is of pipeline {earlier.pipeline!r}, not {pipeline.name!r}"
            )
        reuse = {s.node: s for s in self.store.list_steps(earlier.id) if s.status.is_done}
        return self._run(
            pipeline,
            pipeline.bind(earlier.params),
            executor or earlier.executor,
            True,
            None,
            progress,
            reuse=reuse,
            resumed_from=earlier.id,
        )

    def _run(
        self,
        pipeline: Pipeline,
        params: dict[str, Any],
        executor: str | Executor,
        cache: bool,
        experiment: str | None,
        progress: Progress | None,
        reuse: Mapping[str, StepRun] | None = None,
        resumed_from: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> PipelineRun:
        runner_executor = make_executor(executor)
        run, experiment_id = self._new_run(
            pipeline, params, runner_executor.name, experiment, resumed_from, tags
        )
        steps = [
            StepRun(run.id, node.name, node.step.qualname, position=i, tracking_run_id=new_id())
            for i, node in enumerate(pipeline.graph.nodes.values())
        ]
        recorder = Recorder(
            self.store,
            self.tracking,
            run,
            pipeline.graph,
            experiment_id,
            self.flush_interval_s,
            progress,
            content=self.content,
        )
        recorder.start(steps)
        self._record("pipeline.run", run.id, {"pipeline": run.pipeline, "params": params})
        runner = Runner(
            pipeline.graph,
            params,
            runner_executor,
            self.content,
            recorder,
            steps={s.node: s for s in steps},
            use_cache=cache,
            find_cache=self.store.find_cache,
            reuse=reuse,
        )
        try:
            runner_executor.start(self.content_spec, self.content)
            status = runner.run()
        except BaseException as exc:
            reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"
            recorder.finish(PipelineStatus.FAILED, f"the pipeline run stopped: {reason}")
            raise
        finally:
            if not isinstance(executor, Executor):
                runner_executor.close()
        ended = recorder.finish(status, _failure(runner.steps) if status is PipelineStatus.FAILED else None)
        self._record(f"pipeline.{ended.status.value}", run.id, {"pipeline": run.pipeline})
        return ended

    def _new_run(
        self,
        pipeline: Pipeline,
        params: dict[str, Any],
        executor: str,
        experiment: str | None,
        resumed_from: str | None,
        extra_tags: Mapping[str, str] | None = None,
    ) -> tuple[PipelineRun, str]:
        """The pipeline run record and its experiment's id; its tracked run (params, code lineage) created."""
        from shipyard.core.actors import current_actor
        from shipyard.tracking.lineage import capture_lineage

        run_id = new_id()
        tags = {**(extra_tags or {}), "shipyard.pipeline": pipeline.name, "shipyard.pipeline_run_id": run_id}
        if resumed_from:
            tags["shipyard.resumed_from"] = resumed_from
        tracked = self.tracking.create_run(
            experiment or pipeline.name, pipeline.name, tags, capture_lineage(self.capture_packages)
        )
        text = {k: v if isinstance(v, str) else orjson.dumps(v).decode() for k, v in params.items()}
        self.tracking.log_params(tracked.id, text)
        run = PipelineRun(
            id=run_id,
            pipeline=pipeline.name,
            status=PipelineStatus.RUNNING,
            created_at=now_ms(),
            params=params,
            executor=executor,
            source=pipeline.source,
            tracking_run_id=tracked.id,
            resumed_from=resumed_from,
            created_by=current_actor(),
            graph=pipeline.graph.to_json(),
            outputs={name: ref.key for name, ref in pipeline.graph.outputs.items()},
        )
        return run, tracked.experiment_id

    # -- reading ---------------------------------------------------------------------
    def get_run(self, run_id: str) -> PipelineRun:
        return self.store.get_run(_check_ref(run_id))

    def list_runs(
        self, pipeline: str | None = None, limit: int = 100, offset: int = 0
    ) -> builtins.list[PipelineRun]:
        """Runs (of ``pipeline``, or all), newest first."""
        if not 1 <= limit <= MAX_LIST:
            raise InvalidInputError(f"limit must be between 1 and {MAX_LIST}, got {limit}")
        return self.store.list_runs(pipeline, limit, max(offset, 0))

    def list_steps(self, run_id: str) -> builtins.list[StepRun]:
        """The run's step runs in graph order."""
        return self.store.list_steps(_check_ref(run_id))

    def find_run(self, ref: str) -> PipelineRun:
        """A run by id, or by a unique prefix or suffix (4 characters or more) of a recent run's id."""
        try:
            return self.get_run(ref)
        except NotFoundError:
            if len(ref) < 4:
                raise
        matches = [r for r in self.list_runs(limit=MAX_LIST) if r.id.startswith(ref) or r.id.endswith(ref)]
        if not matches:
            raise NotFoundError(f"pipeline run {ref!r} not found")
        if len(matches) > 1:
            ids = ", ".join(r.id for r in matches[:5])
            raise InvalidInputError(
                f"pipeline run {ref!r} is ambiguous: it matches {ids}; give more characters"
            )
        return matches[0]

    def output(self, run_id: str, name: str | None = None) -> Any:
        """A value a run made: the pipeline's output ``name`` (its only output by default; a dict of
        all when it has several), or a step's output as ``"node"`` / ``"node.output"``."""
        run = self.get_run(run_id)
        if name is None:
            values = {key: self._value(run, ref) for key, ref in run.outputs.items()}
            return values.get("output") if set(values) <= {"output"} else values
        target = run.outputs.get(name, name if "." in name else f"{name}.output")
        return self._value(run, target)

    def _value(self, run: PipelineRun, target: str) -> Any:
        node, _, output = target.partition(".")
        steps = {s.node: s for s in self.store.list_steps(run.id)}
        step = steps.get(node)
        if step is None:
            raise NotFoundError(f"pipeline run {run.id} has no step or output {target!r}")
        ref = step.outputs.get(output)
        if ref is None:
            raise NotFoundError(
                f"step {node!r} of pipeline run {run.id} has no output {output!r} ({step.status.value})"
            )
        return load_output(self.content, ref)

    def clear_cache(self, step: str | None = None) -> int:
        """Forget cached outputs (of one step, by qualified name, or all); the blobs stay with their runs."""
        removed = self.store.delete_cache(step)
        self._record("pipeline.clear_cache", step or "*", {"removed": removed})
        return removed

    def output_digests(self) -> set[str]:
        """Digests referenced by step runs and cache entries (storage gc must keep these)."""
        return self.store.output_digests()

    def _record(self, action: str, target: str, payload: Any) -> None:
        if self.audit is not None:
            from shipyard.core.actors import current_actor

            self.audit.record(current_actor(), action, f"pipeline_run:{target}", payload)


def load_output(content: Blobs, ref: OutputRef) -> Any:
    """The value of a stored output, read by the materialiser that wrote it (digest verified)."""
    return get_materializer(ref.materializer).load(content.get_bytes(ref.digest))


def _failure(steps: Mapping[str, StepRun]) -> str:
    failed = [s for s in steps.values() if s.status is StepStatus.FAILED]
    if not failed:
        return "the run did not finish"
    first = failed[0]
    last_line = (first.error or "").strip().splitlines()[-1:] or [""]
    names = ", ".join(repr(s.node) for s in failed)
    return f"step(s) {names} failed; {first.node!r} after {first.attempts} attempt(s): {last_line[0]}"


def _check_ref(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > 64 or not value.isalnum():
        raise NotFoundError(f"pipeline run {value!r} not found")
    return value
