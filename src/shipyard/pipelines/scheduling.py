"""The passes of ``shipyard scheduler``: find what is due, claim it, run it.

One pass, at time ``now``:

1. **cron**: for each schedule with a cron expression, the last fire time at or before
   ``now``, if it is after the schedule's ``cron_at``. A fire time more than ``grace_s``
   old was *missed* (no scheduler was running then): with ``catchup`` it runs once
   (however many fire times were missed), without it is skipped.
2. **events**: the audit log after the lowest ``audit_seq`` of the schedules with
   triggers; each event a trigger matches is due once per schedule (several matching
   triggers of one schedule make one run).
3. **requests**: pending run requests (``start_pipeline``).

Each due item is *claimed* (an insert whose key is ``(schedule, event)``, in a
transaction of its own) before anything runs; a claim that is already taken means
another scheduler has it, and the item is skipped. Then the schedules' trigger state
moves forward (in the database, so a restarted scheduler goes on where it stopped), and
the won items run, one after another, in this process.

A scheduler that dies after claiming and before running loses that run: each event
starts *at most* one run. A pass reads at most ``MAX_PAGES`` pages of audit events; the
rest waits for the next pass.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import ShipyardError
from shipyard.pipelines.cron import count_fires, latest_fire
from shipyard.pipelines.models import MANUAL, Claim, ClaimStatus, PipelineStatus, Schedule, StepRun

if TYPE_CHECKING:
    from shipyard.governance.models import AuditEvent
    from shipyard.pipelines.scheduler import SchedulerService

PAGE_SIZE = 1000
MAX_PAGES = 10
MAX_ERROR = 8000


@dataclass(frozen=True)
class Notice:
    """One line of the scheduler's log: ``claimed``, ``skipped`` (another scheduler has it),
    ``missed`` (cron times passed while no scheduler ran, no catchup), ``finished``, ``error``."""

    kind: str
    at: int
    ref: str = ""
    event: str = ""
    reason: str = ""
    pipeline_run_id: str | None = None
    status: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


@dataclass(frozen=True)
class Due:
    """Something to start: the pipeline ``ref`` with ``params``, for the event ``key``."""

    schedule_id: str
    key: str
    ref: str
    reason: str
    params: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)
    request_id: str | None = None


class Scheduler:
    """Claims and runs what is due; ``name`` identifies this process in the claims."""

    def __init__(
        self,
        service: SchedulerService,
        *,
        executor: str = "local",
        grace_s: float = 60.0,
        notify: Callable[[Notice], None] | None = None,
        name: str | None = None,
        tasks: Sequence[Callable[[], object]] = (),
    ) -> None:
        self.service = service
        # Run at the start of every pass, before what is due is read (the CLI runs the due
        # monitors here, so an alert they raise starts its pipelines in the same pass).
        self.tasks = tuple(tasks)
        self.store = service.store
        self.executor = executor
        self.grace_ms = int(grace_s * 1000)
        self.notify = notify
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"

    # -- the loop --------------------------------------------------------------------
    def run_forever(self, interval_s: float = 10.0, stop: threading.Event | None = None) -> None:
        """Run a pass every ``interval_s`` seconds until ``stop`` is set; a pass that fails (the
        database is away) is reported and the next one tries again."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                self.run_once()
            except ShipyardError as exc:
                self._tell("error", error=f"the pass failed: {exc}")
            stop.wait(interval_s)

    def run_once(self) -> list[Claim]:
        """One pass: claim what is due, move the trigger state forward, run what was won.
        Returns the claims this scheduler ran, as they ended."""
        for task in self.tasks:
            try:
                task()
            except ShipyardError as exc:
                self._tell("error", error=f"a scheduled task failed: {exc}")
        now = self.service.clock()
        schedules = self.service.list()
        due: list[Due] = []
        for schedule in schedules:
            due += self._cron_due(schedule, now)
        events, last_seq = self._events(schedules)
        for schedule in schedules:
            due += _event_due(schedule, events)
        due += self._requests_due()
        won = [(item, claim) for item in due if (claim := self._claim(item, now)) is not None]
        for schedule in schedules:
            self.store.advance(
                schedule.id, cron_at=now if schedule.cron else None, audit_seq=last_seq or None
            )
        return [self._start(item, claim) for item, claim in won]

    # -- what is due -----------------------------------------------------------------
    def _cron_due(self, schedule: Schedule, now: int) -> list[Due]:
        if schedule.cron is None:
            return []
        latest = latest_fire(schedule.cron, now)
        if latest <= schedule.cron_at:
            return []
        fires = count_fires(schedule.cron, schedule.cron_at, latest)
        reason = f"cron {schedule.cron} at {_iso(latest)}"
        if now - latest > self.grace_ms:  # no scheduler ran at that time
            if not schedule.catchup:
                self._tell("missed", schedule.ref, f"cron:{latest}", f"{reason}: {fires} run(s) missed")
                return []
            reason += f" (catch-up of {fires} missed run(s))"
        tags = {"shipyard.trigger": "cron", "shipyard.schedule": schedule.ref}
        return [Due(schedule.id, f"cron:{latest}", schedule.ref, reason, dict(schedule.params), tags)]

    def _events(self, schedules: list[Schedule]) -> tuple[list[AuditEvent], int]:
        """Audit events after the lowest cursor of the schedules with triggers, and the last seq read."""
        audit = self.service.audit
        cursors = [s.audit_seq for s in schedules if s.triggers]
        if audit is None or not cursors:
            return [], 0
        events: list[AuditEvent] = []
        after = min(cursors)
        for _ in range(MAX_PAGES):
            page = audit.list_events(after_seq=after, limit=PAGE_SIZE)
            events += page
            if len(page) < PAGE_SIZE:
                break
            after = page[-1].seq
        return events, (events[-1].seq if events else 0)

    def _requests_due(self) -> list[Due]:
        due = []
        for request in self.store.list_requests("pending", limit=100):
            schedule = self.store.find_schedule(request.ref)
            params = {**(schedule.params if schedule else {}), **request.params}
            reason = f"requested by {request.requested_by}" + (
                f": {request.reason}" if request.reason else ""
            )
            tags = {"shipyard.trigger": "request", "shipyard.request_id": request.id}
            due.append(Due(MANUAL, f"request:{request.id}", request.ref, reason, params, tags, request.id))
        return due

    # -- claiming and running ----------------------------------------------------------
    def _claim(self, item: Due, now: int) -> Claim | None:
        claim = Claim(item.schedule_id, item.key, item.ref, item.reason[:2000], now, self.name)
        if not self.store.claim(claim, item.request_id):
            self._tell("skipped", item.ref, item.key, f"{item.reason}: claimed by another scheduler")
            return None
        return claim

    def _start(self, item: Due, claim: Claim) -> Claim:
        from shipyard.pipelines.loading import load_pipeline

        self._tell("claimed", item.ref, item.key, item.reason)
        started: list[str] = []

        def progress(step: StepRun) -> None:  # the first step's news carries the run's id
            if not started:
                started.append(step.pipeline_run_id)
                # Should this write fail, only the history's "running" is missing; the end is written.
                with contextlib.suppress(ShipyardError):
                    self.store.update_claim(
                        claim.schedule_id, claim.event_key, ClaimStatus.RUNNING, started[0]
                    )

        tags = {**item.tags, "shipyard.event": item.key}
        try:
            pipeline = load_pipeline(item.ref)
            run = self.service.pipelines.run(
                pipeline, item.params, executor=self.executor, progress=progress, tags=tags
            )
        except Exception as exc:  # the user's module or parameters: reported, the scheduler goes on
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
            return self._end(claim, ClaimStatus.ERROR, started[0] if started else None, error)
        status = ClaimStatus.SUCCEEDED if run.status is PipelineStatus.SUCCEEDED else ClaimStatus.FAILED
        return self._end(claim, status, run.id, run.error)

    def _end(self, claim: Claim, status: ClaimStatus, run_id: str | None, error: str | None) -> Claim:
        ended = self.service.clock()
        self.store.update_claim(claim.schedule_id, claim.event_key, status, run_id, ended, error)
        kind = "error" if status is ClaimStatus.ERROR else "finished"
        self._tell(kind, claim.ref, claim.event_key, claim.reason, run_id, status.value, error)
        return Claim(
            claim.schedule_id,
            claim.event_key,
            claim.ref,
            claim.reason,
            claim.claimed_at,
            claim.claimed_by,
            status,
            run_id,
            ended,
            error,
        )

    def _tell(
        self,
        kind: str,
        ref: str = "",
        event: str = "",
        reason: str = "",
        run_id: str | None = None,
        status: str | None = None,
        error: str | None = None,
    ) -> None:
        if self.notify is not None:
            self.notify(Notice(kind, self.service.clock(), ref, event, reason, run_id, status, error))


def _event_due(schedule: Schedule, events: list[AuditEvent]) -> list[Due]:
    """One item per audit event after the schedule's cursor that one of its triggers matches."""
    due = []
    for event in events:
        if event.seq <= schedule.audit_seq:
            continue
        for trigger in schedule.triggers:
            subject = trigger.subject(event.action, event.target)
            if subject is None:
                continue
            params = dict(schedule.params)
            if trigger.param is not None:
                params[trigger.param] = subject
            tags = {
                "shipyard.trigger": trigger.kind,
                "shipyard.schedule": schedule.ref,
                "shipyard.trigger_subject": subject,
            }
            reason = f"{trigger.kind} {subject} (audit event {event.seq})"
            due.append(Due(schedule.id, f"audit:{event.seq}", schedule.ref, reason, params, tags))
            break
    return due


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
