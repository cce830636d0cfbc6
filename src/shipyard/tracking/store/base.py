"""The contract every tracking backend (memory, SQL, REST) implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from shipyard.tracking.filters import Expr, OrderBy
from shipyard.tracking.models import (
    Artifact,
    CompletedRun,
    Experiment,
    MetricHistory,
    RunInput,
    RunRecord,
    RunStatus,
)

# One logged point as the store receives it: (key, value, step, timestamp_ms).
MetricRow = tuple[str, float, int, int]


class TrackingStore(ABC):
    """Persistence of experiments, runs, params, tags, metrics and artifact records.

    Every method raises only :mod:`shipyard.core.errors` exceptions: ``NotFoundError``
    for unknown ids, ``AlreadyExistsError``/``ConflictError`` for clashes,
    ``BackendUnavailable`` when the backend cannot be reached. Inputs are already
    validated by the service; stores enforce only what needs the stored state.
    """

    @abstractmethod
    def create_experiment(
        self, experiment_id: str, name: str, created_at: int, tags: Mapping[str, str] | None = None
    ) -> Experiment: ...

    @abstractmethod
    def get_experiment(self, experiment_id: str) -> Experiment: ...

    @abstractmethod
    def find_experiment_by_name(self, name: str) -> Experiment | None: ...

    @abstractmethod
    def list_experiments(self, limit: int = 1000, offset: int = 0) -> list[Experiment]: ...

    @abstractmethod
    def create_run(
        self,
        run_id: str,
        experiment_id: str,
        name: str,
        start_time: int,
        tags: Mapping[str, str] | None = None,
        lineage: Mapping[str, Any] | None = None,
    ) -> RunRecord: ...

    @abstractmethod
    def get_run(self, run_id: str) -> RunRecord: ...

    @abstractmethod
    def set_run_status(
        self, run_id: str, status: RunStatus, end_time: int | None = None, error: str | None = None
    ) -> RunRecord:
        """Move a running run to a terminal status; ``ConflictError`` if it already ended."""

    @abstractmethod
    def heartbeat(self, run_id: str, at: int) -> None: ...

    @abstractmethod
    def find_stale_runs(self, heartbeat_before: int) -> list[RunRecord]:
        """Runs still ``running`` whose last heartbeat (or start) is older than the given time."""

    @abstractmethod
    def log_params(self, run_id: str, params: Mapping[str, str]) -> None:
        """Record params; the same value again is a no-op, a different one ``ConflictError``
        (and nothing of the call is written)."""

    @abstractmethod
    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None: ...

    @abstractmethod
    def log_metrics(self, run_id: str, metrics: Sequence[MetricRow]) -> None:
        """Append points, all or nothing. NaN and +/-inf are stored as such."""

    @abstractmethod
    def get_metric_history(self, run_id: str, key: str) -> MetricHistory:
        """Every point of ``key`` in (step, timestamp) order; empty if never logged,
        ``NotFoundError`` if the run does not exist."""

    @abstractmethod
    def search_runs(
        self,
        experiment_ids: Sequence[str] | None,
        filter: Expr | None,
        order_by: Sequence[OrderBy],
        max_results: int = 1000,
        offset: int = 0,
    ) -> list[RunRecord]:
        """Runs matching ``filter``, sorted by ``order_by`` then newest start first."""

    @abstractmethod
    def log_artifacts(self, run_id: str, artifacts: Sequence[Artifact]) -> None:
        """Record logical path -> digest; re-logging a path replaces its record."""

    @abstractmethod
    def list_artifacts(self, run_id: str) -> list[Artifact]: ...

    @abstractmethod
    def artifact_digests(self) -> set[str]:
        """The content digest of every artifact of every run (what storage gc must keep)."""

    @abstractmethod
    def log_inputs(self, run_id: str, inputs: Sequence[RunInput]) -> None:
        """Record what the run read; the same (kind, ref, context) again is a no-op."""

    @abstractmethod
    def list_inputs(self, run_id: str) -> list[RunInput]:
        """The run's inputs ordered by (kind, ref, context)."""

    def record_runs(self, experiment_id: str, runs: Sequence[CompletedRun]) -> None:
        """Record ended runs with their params, tags, artifacts and inputs.

        This default makes the calls one by one; SQL stores override it with one transaction.
        """
        for run in runs:
            self.create_run(run.id, experiment_id, run.name, run.start_time, run.tags, run.lineage)
            self.log_params(run.id, run.params)
            self.log_artifacts(run.id, run.artifacts)
            self.log_inputs(run.id, run.inputs)
            self.set_run_status(run.id, run.status, run.end_time, run.error)

    def close(self) -> None:  # noqa: B027  (optional hook: most stores hold nothing to release)
        """Release connections and threads."""
