"""Writing a pipeline run's progress: step records, cache entries, and one tracked child run per step.

Writes are batched: changes wait in memory, and a background thread writes them every
``interval_s`` seconds (the rest when the run ends), each batch in one transaction of
the pipeline store plus one of the tracking store. A pipeline of 100 quick steps costs a
few transactions instead of several hundred, the runner never waits for the database,
and a long step's ``running`` state is visible while it runs. A batch that fails to
write is kept and tried again with the next one; what a crash can lose is the last
interval of records (the outputs are already in the artifact store, and a rerun finds
them again through the cache).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shipyard.core.clock import now_ms
from shipyard.pipelines.graph import Graph, to_json
from shipyard.pipelines.materializers import Materializer, all_materializers
from shipyard.pipelines.models import CacheEntry, OutputRef, PipelineRun, PipelineStatus, StepRun, StepStatus
from shipyard.pipelines.store.base import PipelineStore
from shipyard.tracking.models import Artifact, CompletedRun, RunInput, RunStatus

if TYPE_CHECKING:
    from shipyard.pipelines.execution import Blobs
    from shipyard.tracking.service import TrackingService

_RUN_STATUS = {
    StepStatus.SUCCEEDED: RunStatus.FINISHED,
    StepStatus.CACHED: RunStatus.FINISHED,
    StepStatus.FAILED: RunStatus.FAILED,
    StepStatus.SKIPPED: RunStatus.KILLED,
}
MAX_PARAM_CHARS = 6000


class Recorder:
    """Collects step changes of one pipeline run and writes them in batches, from a thread of its own."""

    def __init__(
        self,
        store: PipelineStore,
        tracking: TrackingService,
        run: PipelineRun,
        graph: Graph,
        experiment_id: str,
        interval_s: float = 0.5,
        on_change: Callable[[StepRun], None] | None = None,
        content: Blobs | None = None,
    ) -> None:
        self.store = store
        self.content = content  # to record the files some outputs hold (a model's package)
        self.tracking = tracking
        self.run = run
        self.graph = graph
        self.experiment_id = experiment_id
        self.interval_s = interval_s
        self.on_change = on_change
        self._steps: dict[str, StepRun] = {}
        self._cache: list[CacheEntry] = []
        self._children: list[CompletedRun] = []
        self._children_of: dict[str, str] = {}  # node -> its tracking run id
        self._outputs: dict[str, dict[str, OutputRef]] = {}  # node -> its outputs
        self._lock = threading.Lock()  # guards the pending records
        self._write_lock = threading.Lock()  # one batch at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, steps: list[StepRun]) -> None:
        """Record the run and its pending steps, and start writing batches."""
        self._children_of = {s.node: s.tracking_run_id or "" for s in steps}
        self.store.create_run(self.run, steps)
        self._thread = threading.Thread(
            target=self._loop, name=f"shipyard-pipeline-{self.run.id[-8:]}", daemon=True
        )
        self._thread.start()

    def update(self, step: StepRun, cache: CacheEntry | None = None) -> None:
        """Note a step's new state (and the cache entry its success made)."""
        child = self._child(step) if step.status.is_terminal else None
        with self._lock:
            self._steps[step.node] = step
            self._outputs[step.node] = step.outputs
            if cache is not None:
                self._cache.append(cache)
            if child is not None:
                self._children.append(child)
        if self.on_change is not None:
            self.on_change(step)

    def flush(self) -> None:
        """Write the pending records now; a failed part stays pending and its error is raised."""
        with self._write_lock:
            steps, cache, children = self._take()
            try:
                if steps or cache:
                    self.store.save_steps(self.run.id, steps, cache)
            except Exception:
                self._put_back(steps, cache, children)
                raise
            try:
                if children:
                    self.tracking.record_runs(self.experiment_id, children)
            except Exception:
                self._put_back([], [], children)
                raise

    def finish(self, status: PipelineStatus, error: str | None) -> PipelineRun:
        """Stop the writer, write what is left, and end the pipeline run and its tracked run."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._write_lock:
            steps, cache, children = self._take()
            if children:
                self.tracking.record_runs(self.experiment_id, children)
            ended = self.store.end_run(self.run.id, status, now_ms(), error, steps, cache)
        if self.run.tracking_run_id is not None:
            final = RunStatus.FINISHED if status is PipelineStatus.SUCCEEDED else RunStatus.FAILED
            self.tracking.end_run(self.run.tracking_run_id, final, error)
        return ended

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.flush()
            except Exception:  # kept pending: the next batch (or finish) tries again, and raises
                continue

    def _take(self) -> tuple[list[StepRun], list[CacheEntry], list[CompletedRun]]:
        with self._lock:
            taken = (list(self._steps.values()), self._cache, self._children)
            self._steps, self._cache, self._children = {}, [], []
        return taken

    def _put_back(self, steps: list[StepRun], cache: list[CacheEntry], children: list[CompletedRun]) -> None:
        with self._lock:
            for step in steps:
                self._steps.setdefault(step.node, step)  # a newer record of the node wins
            self._cache[:0] = cache
            self._children[:0] = children

    def _child(self, step: StepRun) -> CompletedRun:
        """The tracked run of a finished step: status, attempts, duration, cache hit, inputs, outputs."""
        node = self.graph.nodes[step.node]
        materializers = {m.key: m for m in all_materializers()}
        extensions = {key: m.extension for key, m in materializers.items()}
        tags = {
            "shipyard.parent_run_id": self.run.tracking_run_id or "",
            "shipyard.pipeline": self.run.pipeline,
            "shipyard.pipeline_run_id": self.run.id,
            "shipyard.step": node.step.qualname,
            "shipyard.node": step.node,
            "shipyard.step_status": step.status.value,
            "shipyard.attempts": str(step.attempts),
            "shipyard.cache_hit": str(step.cache_hit).lower(),
            "shipyard.duration_ms": str(step.duration_ms or 0),
        }
        if step.cache_key:
            tags["shipyard.cache_key"] = step.cache_key
        source = node.step.__dict__.get("_source_digest")
        if source:
            tags["shipyard.source_digest"] = source
        artifacts = tuple(
            Artifact(f"outputs/{name}{extensions.get(ref.materializer, '')}", ref.digest, ref.size)
            for name, ref in step.outputs.items()
        ) + tuple(
            extra
            for name, ref in step.outputs.items()
            for extra in self._files_of(name, ref, materializers.get(ref.materializer))
        )
        inputs = tuple(
            RunInput("step_output", self._input_ref(key, extensions), digest, _context(argument))
            for argument, key, digest in _inputs_by_argument(node.arguments, step.inputs)
        )
        start = step.started_at or step.ended_at or now_ms()
        return CompletedRun(
            id=step.tracking_run_id or "",
            name=step.node,
            status=_RUN_STATUS[step.status],
            start_time=start,
            end_time=max(step.ended_at or start, start),
            error=step.error,
            params=_params(node.arguments, self.run.params),
            tags=tags,
            artifacts=artifacts,
            inputs=inputs,
        )

    def _files_of(self, name: str, ref: OutputRef, materializer: Materializer | None) -> list[Artifact]:
        """The files an output holds (``Materializer.artifacts``), stored and named ``outputs/<name>/...``."""
        if materializer is None or self.content is None:
            return []
        if type(materializer).artifacts is Materializer.artifacts:  # holds none: do not read the blob
            return []
        files = materializer.artifacts(self.content.get_bytes(ref.digest))
        return [
            Artifact(f"outputs/{name}/{path}", self.content.put_bytes(data), len(data))
            for path, data in files
        ]

    def _input_ref(self, key: str, extensions: dict[str, str]) -> str:
        """``runs:/<run of the upstream step>/outputs/<name><ext>``: where an input came from."""
        node, _, output = key.partition(".")
        ref = self._outputs.get(node, {}).get(output)
        ext = "" if ref is None else extensions.get(ref.materializer, "")
        return f"runs:/{self._children_of.get(node, '')}/outputs/{output}{ext}"


def _inputs_by_argument(arguments: dict[str, Any], inputs: dict[str, str]) -> list[tuple[str, str, str]]:
    """(argument, ``node.output``, digest) for each upstream output each argument reads."""
    from shipyard.pipelines.graph import Ref, walk

    found = []
    for argument, template in arguments.items():
        for marker in walk(template):
            if isinstance(marker, Ref) and marker.key in inputs:
                found.append((argument, marker.key, inputs[marker.key]))
    return list(dict.fromkeys(found))


def _params(arguments: dict[str, Any], params: dict[str, Any]) -> dict[str, str]:
    """The step's arguments that are not step outputs, as text (parameters bound)."""
    import orjson

    from shipyard.pipelines.graph import Param, Ref, walk

    out = {}
    for name, template in arguments.items():
        if any(isinstance(m, Ref) for m in walk(template)):
            continue
        value = to_json(template, lambda m: params[m.name] if isinstance(m, Param) else None)
        text = value if isinstance(value, str) else orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
        out[name] = text[:MAX_PARAM_CHARS]
    return out


def _context(argument: str) -> str:
    return argument if argument.replace("_", "").isalnum() else "input"
