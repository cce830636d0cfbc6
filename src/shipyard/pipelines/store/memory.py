"""A thread-safe, in-process pipeline store: the reference for every other backend.

>>> from shipyard.pipelines.models import PipelineRun, PipelineStatus, StepRun
>>> store = MemoryPipelineStore()
>>> store.create_run(PipelineRun("r1", "train", PipelineStatus.RUNNING, 1), [StepRun("r1", "load", "m.load")])
>>> [s.node for s in store.list_steps("r1")]
['load']
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence

from shipyard.core.errors import AlreadyExistsError, ConflictError, NotFoundError
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
from shipyard.pipelines.store.base import PipelineStore, ScheduleStore


class MemoryPipelineStore(PipelineStore):
    """Runs, step runs and cache entries in dictionaries behind one lock."""

    def __init__(self, uri: str = "memory://") -> None:
        self.uri = uri
        self._lock = threading.Lock()
        self._runs: dict[str, PipelineRun] = {}
        self._steps: dict[str, dict[str, StepRun]] = {}
        self._cache: dict[str, CacheEntry] = {}

    def create_run(self, run: PipelineRun, steps: Sequence[StepRun]) -> None:
        with self._lock:
            if run.id in self._runs:
                raise AlreadyExistsError(f"pipeline run {run.id!r} already exists")
            self._runs[run.id] = run
            self._steps[run.id] = {s.node: s for s in steps}

    def get_run(self, run_id: str) -> PipelineRun:
        with self._lock:
            found = self._runs.get(run_id)
        if found is None:
            raise NotFoundError(f"pipeline run {run_id!r} not found")
        return found

    def list_runs(self, pipeline: str | None = None, limit: int = 100, offset: int = 0) -> list[PipelineRun]:
        with self._lock:
            runs = [r for r in self._runs.values() if pipeline is None or r.pipeline == pipeline]
        runs.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return runs[offset : offset + limit]

    def save_steps(self, run_id: str, steps: Sequence[StepRun], cache: Sequence[CacheEntry] = ()) -> None:
        with self._lock:
            self._open_run(run_id)
            self._save(run_id, steps, cache)

    def end_run(
        self,
        run_id: str,
        status: PipelineStatus,
        ended_at: int,
        error: str | None = None,
        steps: Sequence[StepRun] = (),
        cache: Sequence[CacheEntry] = (),
    ) -> PipelineRun:
        with self._lock:
            run = self._open_run(run_id)
            self._save(run_id, steps, cache)
            ended = dataclasses.replace(run, status=status, ended_at=ended_at, error=error)
            self._runs[run_id] = ended
            return ended

    def list_steps(self, run_id: str) -> list[StepRun]:
        with self._lock:
            steps = self._steps.get(run_id)
            if steps is None:
                raise NotFoundError(f"pipeline run {run_id!r} not found")
            return sorted(steps.values(), key=lambda s: (s.position, s.node))

    def find_cache(self, keys: Sequence[str]) -> dict[str, CacheEntry]:
        with self._lock:
            return {k: self._cache[k] for k in keys if k in self._cache}

    def delete_cache(self, step: str | None = None) -> int:
        with self._lock:
            doomed = [k for k, e in self._cache.items() if step is None or e.step == step]
            for key in doomed:
                del self._cache[key]
            return len(doomed)

    def output_digests(self) -> set[str]:
        with self._lock:
            found = {o.digest for e in self._cache.values() for o in e.outputs.values()}
            for steps in self._steps.values():
                found.update(o.digest for s in steps.values() for o in s.outputs.values())
            return found

    def _open_run(self, run_id: str) -> PipelineRun:
        run = self._runs.get(run_id)
        if run is None:
            raise NotFoundError(f"pipeline run {run_id!r} not found")
        if run.status.is_terminal:
            raise ConflictError(f"pipeline run {run_id} already ended as {run.status.value}")
        return run

    def _save(self, run_id: str, steps: Sequence[StepRun], cache: Sequence[CacheEntry]) -> None:
        for step in steps:
            if step.pipeline_run_id != run_id:
                raise ConflictError(
                    f"step run {step.node!r} belongs to run {step.pipeline_run_id}, not {run_id}"
                )
        self._steps[run_id].update({s.node: s for s in steps})
        self._cache.update({e.cache_key: e for e in cache})


class MemoryScheduleStore(ScheduleStore):
    """Schedules, claims and requests in dictionaries behind one lock (the claim is a dict key)."""

    def __init__(self, uri: str = "memory://") -> None:
        self.uri = uri
        self._lock = threading.Lock()
        self._schedules: dict[str, Schedule] = {}
        self._claims: dict[tuple[str, str], Claim] = {}
        self._requests: dict[str, PipelineRequest] = {}

    def save_schedule(self, schedule: Schedule) -> Schedule:
        with self._lock:
            old = next((s for s in self._schedules.values() if s.ref == schedule.ref), None)
            if old is not None:
                schedule = dataclasses.replace(
                    schedule, id=old.id, created_at=old.created_at, created_by=old.created_by
                )
            elif schedule.id in self._schedules:
                raise AlreadyExistsError(f"schedule {schedule.id!r} already exists")
            self._schedules[schedule.id] = schedule
            return schedule

    def find_schedule(self, key: str) -> Schedule | None:
        with self._lock:
            found = self._schedules.get(key)
            return found or next((s for s in self._schedules.values() if s.ref == key), None)

    def list_schedules(self) -> list[Schedule]:
        with self._lock:
            return sorted(self._schedules.values(), key=lambda s: s.ref)

    def delete_schedule(self, schedule_id: str) -> bool:
        with self._lock:
            return self._schedules.pop(schedule_id, None) is not None

    def advance(self, schedule_id: str, cron_at: int | None = None, audit_seq: int | None = None) -> None:
        with self._lock:
            found = self._schedules.get(schedule_id)
            if found is None:
                return
            self._schedules[schedule_id] = dataclasses.replace(
                found,
                cron_at=max(found.cron_at, cron_at if cron_at is not None else found.cron_at),
                audit_seq=max(found.audit_seq, audit_seq if audit_seq is not None else found.audit_seq),
            )

    def claim(self, claim: Claim, request_id: str | None = None) -> bool:
        key = (claim.schedule_id, claim.event_key)
        with self._lock:
            if key in self._claims:
                return False
            self._claims[key] = claim
            request = self._requests.get(request_id or "")
            if request is not None:
                self._requests[request.id] = dataclasses.replace(request, status="claimed")
            return True

    def update_claim(
        self,
        schedule_id: str,
        event_key: str,
        status: ClaimStatus,
        pipeline_run_id: str | None = None,
        ended_at: int | None = None,
        error: str | None = None,
    ) -> None:
        with self._lock:
            found = self._claims.get((schedule_id, event_key))
            if found is None:
                raise NotFoundError(f"no claim of {event_key!r} by schedule {schedule_id!r}")
            self._claims[(schedule_id, event_key)] = dataclasses.replace(
                found,
                status=status,
                pipeline_run_id=found.pipeline_run_id or pipeline_run_id,
                ended_at=ended_at,
                error=error,
            )

    def list_claims(self, schedule_id: str | None = None, limit: int = 100) -> list[Claim]:
        with self._lock:
            found = [c for c in self._claims.values() if schedule_id is None or c.schedule_id == schedule_id]
        found.sort(key=lambda c: (c.claimed_at, c.event_key), reverse=True)
        return found[:limit]

    def add_request(self, request: PipelineRequest) -> None:
        with self._lock:
            if request.id in self._requests:
                raise AlreadyExistsError(f"request {request.id!r} already exists")
            self._requests[request.id] = request

    def list_requests(self, status: str | None = "pending", limit: int = 100) -> list[PipelineRequest]:
        with self._lock:
            found = [r for r in self._requests.values() if status is None or r.status == status]
        found.sort(key=lambda r: (r.requested_at, r.id))
        return found[:limit]
