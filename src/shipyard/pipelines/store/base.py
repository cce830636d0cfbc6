"""The contract every pipeline backend (memory, SQL) implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from shipyard.pipelines.models import (
    CacheEntry,
    Claim,
    ClaimStatus,
    PipelineRequest,
    PipelineRun,
    PipelineStatus,
    Schedule,
    StepRun,
)


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


class ScheduleStore(ABC):
    """Persistence of the scheduler: schedules with their trigger state, claims, run requests.

    :meth:`claim` is what makes each event start at most one run when several schedulers
    run at once: it inserts the claim in a transaction of its own, and a claim whose key
    ``(schedule_id, event_key)`` is taken is refused (False), never overwritten.
    """

    @abstractmethod
    def save_schedule(self, schedule: Schedule) -> Schedule:
        """Create the schedule of ``schedule.ref``, or replace the one with that ref (keeping its id
        and ``created_at``, ``created_by``); returns what is stored."""

    @abstractmethod
    def find_schedule(self, key: str) -> Schedule | None:
        """The schedule with this id or ref, or None."""

    @abstractmethod
    def list_schedules(self) -> list[Schedule]:
        """All schedules, by ref."""

    @abstractmethod
    def delete_schedule(self, schedule_id: str) -> bool:
        """Forget a schedule (its claims stay, as history); whether it existed."""

    @abstractmethod
    def advance(self, schedule_id: str, cron_at: int | None = None, audit_seq: int | None = None) -> None:
        """Move the trigger state forward (a value lower than the stored one is ignored)."""

    @abstractmethod
    def claim(self, claim: Claim, request_id: str | None = None) -> bool:
        """Insert ``claim`` in a transaction of its own (with ``request_id``, also mark that request
        claimed); False, changing nothing, if the key is already claimed."""

    @abstractmethod
    def update_claim(
        self,
        schedule_id: str,
        event_key: str,
        status: ClaimStatus,
        pipeline_run_id: str | None = None,
        ended_at: int | None = None,
        error: str | None = None,
    ) -> None:
        """Record the progress of a claimed event (``pipeline_run_id`` is kept once set)."""

    @abstractmethod
    def list_claims(self, schedule_id: str | None = None, limit: int = 100) -> list[Claim]:
        """Claims (of one schedule, or all), newest first."""

    @abstractmethod
    def add_request(self, request: PipelineRequest) -> None:
        """Record a pending run request."""

    @abstractmethod
    def list_requests(self, status: str | None = "pending", limit: int = 100) -> list[PipelineRequest]:
        """Requests (with ``status``, or all), oldest first."""

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release connections."""
