"""The functions behind ``sy.tune`` and ``sy.tuning``: search, resume, inspect studies."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from shipyard.workspace import current_workspace

if TYPE_CHECKING:
    from shipyard.tuning.models import StudySummary, TrialInfo, TuneResult
    from shipyard.tuning.space import Distribution

__all__ = ["get_study", "studies", "tune"]


def tune(
    objective: Callable[..., Any],
    space: Mapping[str, Distribution],
    *,
    n_trials: int = 50,
    direction: str = "maximize",
    metric: str = "value",
    executor: str = "local",
    pruner: Any = "median",
    seed: int | None = None,
    study: str | None = None,
    resume: bool = False,
    experiment: str | None = None,
    parallel: int | None = None,
) -> TuneResult:
    """Search ``space`` for the params that make ``objective`` best on ``metric``.

    ``objective(params)`` returns the metric's value, or a dict of metrics holding it;
    it may call ``sy.report(value, step)`` so that ``pruner`` ("median", "hyperband",
    "successive_halving", None) can stop a poor trial early. Each trial is a child run of
    this call's run. ``seed`` makes the sequence of trials repeatable; ``study`` names the
    study so ``resume=True`` can continue it; ``executor="ray"`` runs ``parallel`` trials
    at once on Ray. See ``docs/tuning.md``.
    """
    return current_workspace().tuning.tune(
        objective,
        space,
        n_trials=n_trials,
        direction=direction,
        metric=metric,
        executor=executor,
        pruner=pruner,
        seed=seed,
        study=study,
        resume=resume,
        experiment=experiment,
        parallel=parallel,
    )


def studies() -> builtins.list[StudySummary]:
    """Every study, by name: trials by state, best value and params."""
    return current_workspace().tuning.list_studies()


def get_study(name: str) -> tuple[StudySummary, builtins.list[TrialInfo]]:
    """A study's summary and its trials, in order."""
    return current_workspace().tuning.get_study(name)
