"""The contract every pipeline backend (memory, SQL) implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from shipyard.pipelines.models import CacheEntry, PipelineRun, PipelineStatus, StepRun


class PipelineStore(ABC):
    """Persistence of pipeline runs, their step runs and the step cache.

    Every method raises only :mod:`shipyard.core.errors` exceptions: ``NotFoundError``
    for an unknown run, ``AlreadyExistsError`` for a clashing id, ``ConflictError``
    when a run that already ended is changed, ``BackendUnavailable`` when the backend
    cannot be reached. Writes are all or nothing.
    """

    @abstractmethod
    def create_run(self, run: PipelineRun, steps: Sequence[StepRun]) -> None:
        """Record a new run and its step runs (normally all pending) in one transaction."""

    @abstractmethod
    def get_run(self, run_id: str) -> PipelineRun: ...

    @abstractmethod
    def list_runs(self, pipeline: str | None = None, limit: int = 100, offset: int = 0) -> list[PipelineRun]:
        """Runs (of ``pipeline``, or all), newest first."""

    @abstractmethod
    def save_steps(self, run_id: str, steps: Sequence[StepRun], cache: Sequence[CacheEntry] = ()) -> None:
        """Replace the records of ``steps`` (by node) and add ``cache`` entries, in one transaction.

        ``ConflictError`` if the run already ended; a cache entry with a key already
        stored replaces it.
        """

    @abstractmethod
    def end_run(
        self,
        run_id: str,
        status: PipelineStatus,
        ended_at: int,
        error: str | None = None,
        steps: Sequence[StepRun] = (),
        cache: Sequence[CacheEntry] = (),
    ) -> PipelineRun:
        """Save the last ``steps`` and ``cache`` entries and end the run, in one transaction.

        ``ConflictError`` if the run already ended.
        """

    @abstractmethod
    def list_steps(self, run_id: str) -> list[StepRun]:
        """The run's step runs in graph order; ``NotFoundError`` if the run does not exist."""

    @abstractmethod
    def find_cache(self, keys: Sequence[str]) -> dict[str, CacheEntry]:
        """The cache entries stored under any of ``keys`` (absent keys are left out)."""

    @abstractmethod
    def delete_cache(self, step: str | None = None) -> int:
        """Forget the cache entries of ``step`` (a step's qualified name), or all; how many."""

    @abstractmethod
    def output_digests(self) -> set[str]:
        """Every digest a step run or cache entry refers to (what storage gc must keep)."""

    def close(self) -> None:  # noqa: B027  (optional hook: most stores hold nothing to release)
        """Release connections and threads."""
