"""Entities of experiment tracking: plain dataclasses, no I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class RunStatus(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    KILLED = "killed"

    @property
    def is_terminal(self) -> bool:
        return self is not RunStatus.RUNNING


@dataclass(frozen=True)
class Experiment:
    id: str
    name: str
    created_at: int
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Metric:
    """One logged point. ``value`` may be NaN or +/-inf."""

    key: str
    value: float
    step: int
    timestamp: int

    def same_as(self, other: Metric) -> bool:
        both_nan = math.isnan(self.value) and math.isnan(other.value)
        return (self.key, self.step, self.timestamp) == (other.key, other.step, other.timestamp) and (
            both_nan or self.value == other.value
        )


@dataclass(frozen=True)
class MetricHistory:
    """Every point of one metric of one run, columnar, in (step, timestamp) order."""

    key: str
    steps: list[int]
    values: list[float]
    timestamps: list[int]

    def __len__(self) -> int:
        return len(self.steps)


@dataclass(frozen=True)
class Artifact:
    """A file logged to a run: logical path -> content digest."""

    path: str
    digest: str
    size: int


@dataclass(frozen=True)
class RunInput:
    """Something a run read, e.g. ``RunInput("dataset", "transactions@3", "blake3:...", "training")``."""

    kind: str
    ref: str
    digest: str
    context: str
    created_at: int = 0


@dataclass(frozen=True)
class RunRecord:
    """A run as stored: identity, status, lineage, params, tags and latest metrics."""

    id: str
    experiment_id: str
    name: str
    status: RunStatus
    start_time: int
    end_time: int | None = None
    heartbeat_at: int | None = None
    error: str | None = None
    lineage: dict[str, Any] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CompletedRun:
    """A run recorded after the fact, ended, with what it logged (e.g. one step of a pipeline run).

    ``TrackingService.record_runs`` writes many of them at once: on SQL stores in one transaction.
    """

    id: str
    name: str
    status: RunStatus
    start_time: int
    end_time: int
    error: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: tuple[Artifact, ...] = ()
    inputs: tuple[RunInput, ...] = ()
    lineage: dict[str, Any] = field(default_factory=dict)
