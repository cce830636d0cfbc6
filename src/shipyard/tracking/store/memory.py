"""A thread-safe, in-process tracking store: the reference for every other backend.

Everything lives in dictionaries behind one lock; records handed out are snapshots,
so callers cannot change the store by mutating them.

>>> store = MemoryTrackingStore()
>>> _ = store.create_experiment("e1", "demo", created_at=0)
>>> _ = store.create_run("r1", "e1", "first", start_time=10)
>>> store.log_metrics("r1", [("loss", 0.5, 0, 11), ("loss", 0.25, 1, 12)])
>>> store.get_run("r1").metrics
{'loss': 0.25}
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shipyard.core.errors import AlreadyExistsError, ConflictError, InvalidInputError, NotFoundError
from shipyard.tracking.filters import Expr, OrderBy
from shipyard.tracking.matching import matches, sort_runs
from shipyard.tracking.models import Artifact, Experiment, MetricHistory, RunInput, RunRecord, RunStatus
from shipyard.tracking.store.base import MetricRow, TrackingStore

# One stored point: (step, timestamp, insertion sequence, value); tuples sort in history order.
_Point = tuple[int, int, int, float]


@dataclass
class _RunState:
    """The mutable record of one run."""

    id: str
    experiment_id: str
    name: str
    start_time: int
    status: RunStatus = RunStatus.RUNNING
    end_time: int | None = None
    heartbeat_at: int | None = None
    error: str | None = None
    lineage: dict[str, Any] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    points: dict[str, list[_Point]] = field(default_factory=dict)
    latest: dict[str, _Point] = field(default_factory=dict)
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    inputs: dict[tuple[str, str, str], RunInput] = field(default_factory=dict)

    def record(self) -> RunRecord:
        return RunRecord(
            id=self.id,
            experiment_id=self.experiment_id,
            name=self.name,
            status=self.status,
            start_time=self.start_time,
            end_time=self.end_time,
            heartbeat_at=self.heartbeat_at,
            error=self.error,
            lineage=dict(self.lineage),
            params=dict(self.params),
            tags=dict(self.tags),
            metrics={key: point[3] for key, point in self.latest.items()},
        )


class MemoryTrackingStore(TrackingStore):
    """:class:`TrackingStore` in memory; ``uri`` (``memory://``) is accepted and ignored."""

    def __init__(self, uri: str = "memory://") -> None:
        self.uri = uri
        self._lock = threading.Lock()
        self._experiments: dict[str, Experiment] = {}
        self._runs: dict[str, _RunState] = {}
        self._sequence = 0

    # ------------------------------------------------------------------ experiments

    def create_experiment(
        self, experiment_id: str, name: str, created_at: int, tags: Mapping[str, str] | None = None
    ) -> Experiment:
        with self._lock:
            if experiment_id in self._experiments:
                raise AlreadyExistsError(f"experiment id {experiment_id!r} already exists")
            if any(e.name == name for e in self._experiments.values()):
                raise AlreadyExistsError(f"an experiment named {name!r} already exists")
            experiment = Experiment(experiment_id, name, created_at, dict(tags or {}))
            self._experiments[experiment_id] = experiment
            return _copy_experiment(experiment)

    def get_experiment(self, experiment_id: str) -> Experiment:
        with self._lock:
            return _copy_experiment(self._experiment(experiment_id))

    def find_experiment_by_name(self, name: str) -> Experiment | None:
        with self._lock:
            found = next((e for e in self._experiments.values() if e.name == name), None)
            return None if found is None else _copy_experiment(found)

    def list_experiments(self, limit: int = 1000, offset: int = 0) -> list[Experiment]:
        """Experiments oldest first (``created_at``, then id)."""
        with self._lock:
            ordered = sorted(self._experiments.values(), key=lambda e: (e.created_at, e.id))
            return [_copy_experiment(e) for e in ordered[offset : offset + limit]]

    # ------------------------------------------------------------------ runs

    def create_run(
        self,
        run_id: str,
        experiment_id: str,
        name: str,
        start_time: int,
        tags: Mapping[str, str] | None = None,
        lineage: Mapping[str, Any] | None = None,
    ) -> RunRecord:
        with self._lock:
            self._experiment(experiment_id)
            if run_id in self._runs:
                raise AlreadyExistsError(f"run id {run_id!r} already exists")
            state = _RunState(run_id, experiment_id, name, start_time)
            state.tags.update(tags or {})
            state.lineage.update(lineage or {})
            self._runs[run_id] = state
            return state.record()

    def get_run(self, run_id: str) -> RunRecord:
        with self._lock:
            return self._run(run_id).record()

    def set_run_status(
        self, run_id: str, status: RunStatus, end_time: int | None = None, error: str | None = None
    ) -> RunRecord:
        with self._lock:
            state = self._run(run_id)
            if not RunStatus(status).is_terminal:
                raise InvalidInputError(f"cannot set run {run_id} back to {RunStatus(status).value!r}")
            if state.status.is_terminal:
                raise ConflictError(f"run {run_id} already ended as {state.status.value!r}")
            state.status, state.end_time, state.error = RunStatus(status), end_time, error
            return state.record()

    def heartbeat(self, run_id: str, at: int) -> None:
        with self._lock:
            self._run(run_id).heartbeat_at = at

    def find_stale_runs(self, heartbeat_before: int) -> list[RunRecord]:
        with self._lock:
            stale = [
                state.record()
                for state in self._runs.values()
                if state.status is RunStatus.RUNNING
                and (state.start_time if state.heartbeat_at is None else state.heartbeat_at)
                < heartbeat_before
            ]
        return sorted(stale, key=lambda run: (run.start_time, run.id))

    # ------------------------------------------------------------------ params, tags, metrics

    def log_params(self, run_id: str, params: Mapping[str, str]) -> None:
        with self._lock:
            state = self._run(run_id)
            for key, value in params.items():
                old = state.params.get(key)
                if old is not None and old != value:
                    raise ConflictError(
                        f"param {key!r} of run {run_id} is already {old!r}; cannot change it to {value!r}",
                        details={"key": key, "old": old, "new": value},
                    )
            state.params.update(params)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        with self._lock:
            self._run(run_id).tags.update(tags)

    def log_metrics(self, run_id: str, metrics: Sequence[MetricRow]) -> None:
        with self._lock:
            state = self._run(run_id)
            for key, value, step, timestamp in metrics:
                self._sequence += 1
                point: _Point = (int(step), int(timestamp), self._sequence, float(value))
                state.points.setdefault(key, []).append(point)
                latest = state.latest.get(key)
                if latest is None or point[:3] > latest[:3]:
                    state.latest[key] = point

    def get_metric_history(self, run_id: str, key: str) -> MetricHistory:
        with self._lock:
            points = sorted(self._run(run_id).points.get(key, []))
        return MetricHistory(
            key=key,
            steps=[p[0] for p in points],
            values=[p[3] for p in points],
            timestamps=[p[1] for p in points],
        )

    # ------------------------------------------------------------------ search, artifacts

    def search_runs(
        self,
        experiment_ids: Sequence[str] | None,
        filter: Expr | None,
        order_by: Sequence[OrderBy],
        max_results: int = 1000,
        offset: int = 0,
    ) -> list[RunRecord]:
        wanted = None if experiment_ids is None else set(experiment_ids)
        with self._lock:
            runs = [
                state.record()
                for state in self._runs.values()
                if wanted is None or state.experiment_id in wanted
            ]
        found = sort_runs((run for run in runs if matches(filter, run)), order_by)
        return found[offset : offset + max_results]

    def log_artifacts(self, run_id: str, artifacts: Sequence[Artifact]) -> None:
        with self._lock:
            state = self._run(run_id)
            for artifact in artifacts:
                state.artifacts[artifact.path] = artifact

    def list_artifacts(self, run_id: str) -> list[Artifact]:
        """Artifacts of the run ordered by path."""
        with self._lock:
            return sorted(self._run(run_id).artifacts.values(), key=lambda a: a.path)

    def artifact_digests(self) -> set[str]:
        with self._lock:
            return {a.digest for state in self._runs.values() for a in state.artifacts.values()}

    def log_inputs(self, run_id: str, inputs: Sequence[RunInput]) -> None:
        with self._lock:
            state = self._run(run_id)
            for item in inputs:
                state.inputs.setdefault((item.kind, item.ref, item.context), item)

    def list_inputs(self, run_id: str) -> list[RunInput]:
        with self._lock:
            state = self._run(run_id)
            return [state.inputs[key] for key in sorted(state.inputs)]

    # ------------------------------------------------------------------ lookups (lock held)

    def _experiment(self, experiment_id: str) -> Experiment:
        try:
            return self._experiments[experiment_id]
        except KeyError:
            raise NotFoundError(f"experiment {experiment_id!r} not found") from None

    def _run(self, run_id: str) -> _RunState:
        try:
            return self._runs[run_id]
        except KeyError:
            raise NotFoundError(f"run {run_id!r} not found") from None


def _copy_experiment(experiment: Experiment) -> Experiment:
    return Experiment(experiment.id, experiment.name, experiment.created_at, dict(experiment.tags))
