"""Entities of tuning: a study's summary, its trials, and what ``sy.tune`` returns. No I/O.

A *study* is one search: a space, a metric to maximise or minimise, and its trials,
kept in the metadata database under a name, so it can be resumed and inspected. Each
trial is also a tracked run, a child (tag ``shipyard.parent_run_id``) of the run of
the ``sy.tune`` call that ran it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class TrialInfo:
    """One trial: ``state`` is ``complete``, ``pruned``, ``fail`` or ``running``."""

    number: int
    state: str
    value: float | None
    params: dict[str, Any]
    run_id: str | None
    started_at: int | None
    ended_at: int | None
    intermediate: dict[int, float] = field(default_factory=dict)

    @property
    def duration_ms(self) -> int | None:
        return None if self.started_at is None or self.ended_at is None else self.ended_at - self.started_at


@dataclass(frozen=True)
class StudySummary:
    """What ``shipyard tune list`` shows of a study."""

    name: str
    metric: str
    direction: str
    space: dict[str, Any]
    created_at: int | None
    counts: dict[str, int]  # trials by state
    best_value: float | None
    best_params: dict[str, Any]
    best_run_id: str | None
    runs: list[str] = field(default_factory=list)  # the parent run of each sy.tune call, in order

    @property
    def n_trials(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class TuneResult:
    """What ``sy.tune`` returns: the best trial's params, value and run, and every trial.

    ``trials`` has one row per trial of the study (earlier sessions included, when resumed):
    ``number``, ``state``, ``value``, ``run_id``, ``duration_ms`` and a ``params.<name>``
    column per hyperparameter.
    """

    study: str
    metric: str
    direction: str
    best_params: dict[str, Any]
    best_value: float | None
    best_run_id: str | None
    best_trial: int | None
    run_id: str  # the parent run of this call
    trials: pd.DataFrame = field(repr=False)
