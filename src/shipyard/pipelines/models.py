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
