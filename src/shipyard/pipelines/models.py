"""Entities of pipelines as stored: pipeline runs, step runs, cache entries. Plain dataclasses, no I/O.

A *pipeline run* is one execution of a pipeline's graph with bound parameters; it
has one *step run* per node of the graph. A step's outputs are content digests in
the artifact store, each with the name of the materialiser that wrote it (so the
value can be read back). The *cache* maps a step's cache key to the outputs a
successful run of that step produced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class PipelineStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        return self is not PipelineStatus.RUNNING


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    CACHED = "cached"  # outputs reused from the cache or from the run that was resumed
    FAILED = "failed"
    SKIPPED = "skipped"  # an upstream step failed

    @property
    def is_done(self) -> bool:
        """Whether the step's outputs exist (it ran, or its outputs were reused)."""
        return self in (StepStatus.SUCCEEDED, StepStatus.CACHED)

    @property
    def is_terminal(self) -> bool:
        return self not in (StepStatus.PENDING, StepStatus.RUNNING)


@dataclass(frozen=True)
class OutputRef:
    """One stored output of a step: its content digest, the materialiser that wrote it, its size."""

    digest: str
    materializer: str
    size: int

    def to_json(self) -> list[Any]:
        return [self.digest, self.materializer, self.size]

    @classmethod
    def from_json(cls, value: list[Any]) -> OutputRef:
        return cls(str(value[0]), str(value[1]), int(value[2]))


@dataclass(frozen=True)
class PipelineRun:
    """One execution of a pipeline.

    ``source`` is how to import the pipeline again (``module:attribute``), which is
    what ``resume`` needs; ``graph`` is the traced graph as JSON (nodes, their step,
    arguments and upstream nodes); ``outputs`` maps each returned value's name to
    ``"<node>.<output>"``.
    """

    id: str
    pipeline: str
    status: PipelineStatus
    created_at: int
    params: dict[str, Any] = field(default_factory=dict)
    executor: str = "local"
    source: str | None = None
    tracking_run_id: str | None = None
    ended_at: int | None = None
    error: str | None = None
    resumed_from: str | None = None
    created_by: str = ""
    graph: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def duration_ms(self) -> int | None:
        return None if self.ended_at is None else self.ended_at - self.created_at


@dataclass(frozen=True)
class StepRun:
    """One node of a pipeline run: what ran (or was reused), how often, how long, with what result.

    ``inputs`` maps each upstream output read (``"<node>.<output>"``) to its digest;
    ``error`` holds the traceback of the last failed attempt.
    """

    pipeline_run_id: str
    node: str
    step: str
    status: StepStatus = StepStatus.PENDING
    position: int = 0
    attempts: int = 0
    started_at: int | None = None
    ended_at: int | None = None
    duration_ms: int | None = None
    cache_key: str | None = None
    cache_hit: bool = False
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, OutputRef] = field(default_factory=dict)
    error: str | None = None
    tracking_run_id: str | None = None


@dataclass(frozen=True)
class CacheEntry:
    """The outputs a successful run of a step produced under ``cache_key``."""

    cache_key: str
    step: str
    outputs: dict[str, OutputRef]
    pipeline_run_id: str
    created_at: int


# -- the scheduler ------------------------------------------------------------------------
#: What each trigger kind listens for in the audit log: (action, target prefix). The subject
#: of an event is what follows the prefix: ``transactions@4``, ``fraud/3``, ``fraud-drift``.
TRIGGER_EVENTS: dict[str, tuple[str, str]] = {
    "dataset": ("dataset.add", "dataset:"),
    "model_registered": ("model.register", "model:"),
    "alert": ("alert.fired", "monitor:"),
}


@dataclass(frozen=True)
class Trigger:
    """Start a pipeline when something happens: a new version of a dataset (``dataset``), a new
    version of a registered model (``model_registered``), a monitor's alert (``alert``).

    ``name`` is the dataset, model or monitor (a glob pattern: ``"*"``, ``"fraud-*"``);
    ``param`` names a pipeline parameter that receives the event's subject (``"transactions@4"``,
    ``"fraud:3"``, ``"fraud-drift"``).
    """

    kind: str
    name: str
    param: str | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"kind": self.kind, "name": self.name}
        if self.param is not None:
            doc["param"] = self.param
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Trigger:
        return cls(str(doc["kind"]), str(doc["name"]), doc.get("param"))

    def subject(self, action: str, target: str) -> str | None:
        """The subject of an audit event this trigger fires on (``"fraud:3"``), or None.

        >>> Trigger("model_registered", "fraud").subject("model.register", "model:fraud/3")
        'fraud:3'
        >>> Trigger("dataset", "trans*").subject("dataset.add", "dataset:transactions@4")
        'transactions@4'
        >>> Trigger("alert", "fraud-drift").subject("alert.fired", "monitor:other") is None
        True
        """
        from fnmatch import fnmatchcase

        wanted, prefix = TRIGGER_EVENTS[self.kind]
        if action != wanted or not target.startswith(prefix):
            return None
        subject = target[len(prefix) :]
        if self.kind == "dataset":
            name, _, version = subject.rpartition("@")
        elif self.kind == "model_registered":
            name, _, version = subject.rpartition("/")
            subject = f"{name}:{version}"
        else:
            name = subject
        return subject if name and fnmatchcase(name, self.name) else None

    def describe(self) -> str:
        """``dataset transactions`` / ``model_registered fraud -> model``."""
        return f"{self.kind} {self.name}" + (f" -> {self.param}" if self.param else "")


@dataclass(frozen=True)
class Schedule:
    """A pipeline the scheduler starts: by import ref, on ``cron`` (UTC) and on ``triggers``.

    ``cron_at`` (ms) and ``audit_seq`` are its trigger state: the last cron time and the
    last audit event already considered. ``catchup``: when the scheduler finds fire times
    it missed (it was not running), it runs the pipeline once for them instead of skipping.
    """

    id: str
    ref: str
    pipeline: str
    cron: str | None
    triggers: tuple[Trigger, ...]
    catchup: bool
    params: dict[str, Any]
    created_at: int
    created_by: str
    updated_at: int
    cron_at: int
    audit_seq: int


class ClaimStatus(StrEnum):
    CLAIMED = "claimed"  # taken by a scheduler, the run is about to start
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the pipeline run failed
    ERROR = "error"  # the run could not start (import error, bad parameters)


MANUAL = "manual"  # the schedule_id of claims of requested runs


@dataclass(frozen=True)
class Claim:
    """One event that started a pipeline; ``(schedule_id, event_key)`` is unique: the claim.

    ``event_key``: ``cron:<ms>``, ``audit:<seq>`` or ``request:<id>``; ``schedule_id`` is
    :data:`MANUAL` for requested runs.
    """

    schedule_id: str
    event_key: str
    ref: str
    reason: str
    claimed_at: int
    claimed_by: str
    status: ClaimStatus = ClaimStatus.CLAIMED
    pipeline_run_id: str | None = None
    ended_at: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class PipelineRequest:
    """A run asked for by code (``start_pipeline``); ``pending`` until a scheduler claims it."""

    id: str
    ref: str
    params: dict[str, Any]
    reason: str
    requested_at: int
    requested_by: str
    status: str = "pending"  # or "claimed"
