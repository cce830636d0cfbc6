"""Inside a trial: ``sy.report(value, step)`` and the pruning signal.

An objective reports intermediate values of its metric (a score after each epoch);
with a pruner, a report can answer that the trial is not worth finishing: ``sy.report``
then raises :class:`TrialPruned`, which the objective lets through (do not catch it),
and the trial ends as ``pruned``.

>>> report(0.5, 1)
Traceback (most recent call last):
...
shipyard.core.errors.InvalidInputError: sy.report() is for objectives that sy.tune runs: no trial runs here
"""

from __future__ import annotations

import math
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from shipyard.core.errors import InvalidInputError


class TrialPruned(Exception):  # named like Optuna's signal: it is not an error
    """Raised by :func:`report` when the pruner stops the trial; let it leave the objective."""


@dataclass
class Trial:
    """The running trial, handed to an objective that takes a second argument: its number, the
    tracked run that records it, its parameters; :meth:`report` is ``sy.report``."""

    number: int
    run_id: str
    params: dict[str, Any]
    optuna_trial: Any = field(default=None, repr=False)  # None when nothing can prune here
    reported: list[tuple[int, float]] = field(default_factory=list, repr=False)

    def report(self, value: float, step: int) -> None:
        """Record an intermediate value; raise :class:`TrialPruned` if the pruner says stop."""
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise InvalidInputError(f"step must be an int >= 0, got {step!r}")
        number = _number(value)
        if any(s == step for s, _ in self.reported):
            raise InvalidInputError(f"trial {self.number} already reported a value at step {step}")
        self.reported.append((step, number))
        if self.optuna_trial is not None:
            self.optuna_trial.report(number, step)
            if self.optuna_trial.should_prune():
                raise TrialPruned(f"trial {self.number} pruned at step {step}")


_current: ContextVar[Trial | None] = ContextVar("shipyard_trial", default=None)


def report(value: float, step: int) -> None:
    """Report an intermediate value of the objective's metric at ``step`` (an epoch, a round).

    Raises :class:`TrialPruned` when the study's pruner decides the trial should stop.
    """
    trial = _current.get()
    if trial is None:
        raise InvalidInputError("sy.report() is for objectives that sy.tune runs: no trial runs here")
    trial.report(value, step)


def current_trial() -> Trial | None:
    """The trial running in this context, if any."""
    return _current.get()


def set_trial(trial: Trial | None) -> Any:
    """Make ``trial`` the current one; returns the token to reset it with :func:`reset_trial`."""
    return _current.set(trial)


def reset_trial(token: Any) -> None:
    _current.reset(token)


def _number(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInputError(f"a reported value must be a number, got {value!r}") from None
    if math.isnan(number):
        raise InvalidInputError("a reported value must not be NaN")
    return number
