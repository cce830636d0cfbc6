"""Search spaces: what each hyperparameter may be (``sy.loguniform``, ``sy.uniform``, ``sy.intrange``,
``sy.choice``), and their Optuna distributions.

>>> space = check_space({"lr": loguniform(1e-4, 0.1), "depth": intrange(2, 10), "model": choice(["rf", "x"])})
>>> sorted(space), space["depth"].describe()
(['depth', 'lr', 'model'], 'intrange(2, 10)')
>>> loguniform(0, 1)
Traceback (most recent call last):
...
shipyard.core.errors.InvalidInputError: loguniform needs 0 < low < high, got low=0, high=1
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shipyard.core.errors import InvalidInputError
from shipyard.core.names import check_key

Choice = None | bool | int | float | str


@dataclass(frozen=True)
class Distribution:
    """One hyperparameter's range: ``kind`` is ``uniform``, ``loguniform``, ``intrange`` or ``choice``."""

    kind: str
    low: float | None = None
    high: float | None = None
    step: int | None = None
    log: bool = False
    options: tuple[Choice, ...] = ()

    def to_json(self) -> dict[str, Any]:
        if self.kind == "choice":
            return {"kind": "choice", "options": list(self.options)}
        doc: dict[str, Any] = {"kind": self.kind, "low": self.low, "high": self.high}
        if self.kind == "intrange":
            doc.update(step=self.step, log=self.log)
        return doc

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Distribution:
        if doc["kind"] == "choice":
            return choice(doc["options"])
        if doc["kind"] == "intrange":
            return intrange(doc["low"], doc["high"], step=doc.get("step", 1), log=doc.get("log", False))
        return {"uniform": uniform, "loguniform": loguniform}[doc["kind"]](doc["low"], doc["high"])

    def describe(self) -> str:
        if self.kind == "choice":
            return f"choice({list(self.options)!r})"
        extra = f", step={self.step}" if self.kind == "intrange" and self.step != 1 else ""
        extra += ", log=True" if self.kind == "intrange" and self.log else ""
        low, high = (
            (int(self.low or 0), int(self.high or 0)) if self.kind == "intrange" else (self.low, self.high)
        )
        return f"{self.kind}({low}, {high}{extra})"

    def to_optuna(self) -> Any:
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if self.kind == "choice":
            return CategoricalDistribution(self.options)
        if self.kind == "intrange":
            return IntDistribution(int(self.low or 0), int(self.high or 0), step=self.step or 1, log=self.log)
        return FloatDistribution(float(self.low or 0), float(self.high or 0), log=self.kind == "loguniform")


def uniform(low: float, high: float) -> Distribution:
    """A float between ``low`` and ``high``, every value as likely."""
    low, high = _bounds("uniform", low, high)
    return Distribution("uniform", low, high)


def loguniform(low: float, high: float) -> Distribution:
    """A float between ``low`` and ``high`` (both > 0), every order of magnitude as likely."""
    low, high = _bounds("loguniform", low, high)
    if low <= 0:
        raise InvalidInputError(f"loguniform needs 0 < low < high, got low={low:g}, high={high:g}")
    return Distribution("loguniform", low, high)


def intrange(low: int, high: int, *, step: int = 1, log: bool = False) -> Distribution:
    """An integer from ``low`` to ``high`` inclusive (every ``step``; ``log=True``: orders of magnitude)."""
    for value, what in ((low, "low"), (high, "high"), (step, "step")):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInputError(f"intrange {what} must be an int, got {value!r}")
    if low > high or step < 1 or (log and (low < 1 or step != 1)):
        raise InvalidInputError(
            f"intrange needs low <= high and step >= 1 (with log: low >= 1, step 1), "
            f"got {low}, {high}, step={step}"
        )
    if (high - low) % step:
        raise InvalidInputError(
            f"intrange: high - low must be a multiple of step, got {low}, {high}, step={step}"
        )
    return Distribution("intrange", low, high, step, log)


def choice(options: Sequence[Choice]) -> Distribution:
    """One of ``options`` (strings, numbers, booleans or None)."""
    if isinstance(options, str | bytes) or not isinstance(options, Sequence) or not options:
        raise InvalidInputError(f"choice needs a non-empty list of options, got {options!r}")
    for option in options:
        if option is not None and not isinstance(option, bool | int | float | str):
            raise InvalidInputError(f"a choice is a string, number, boolean or None, got {option!r}")
    if len(set(map(repr, options))) != len(options):
        raise InvalidInputError(f"choice options must differ, got {list(options)!r}")
    return Distribution("choice", options=tuple(options))


def check_space(space: object) -> dict[str, Distribution]:
    """The space as a dict of names to distributions; ``InvalidInputError`` naming what is wrong."""
    if not isinstance(space, Mapping) or not space:
        raise InvalidInputError("space must be a dict of names to sy.uniform/loguniform/intrange/choice")
    checked = {}
    for name, value in space.items():
        check_key(name, "hyperparameter name")
        if not isinstance(value, Distribution):
            raise InvalidInputError(
                f"hyperparameter {name!r} must be sy.uniform, sy.loguniform, sy.intrange or sy.choice, "
                f"got {value!r}"
            )
        checked[name] = value
    return checked


def space_json(space: Mapping[str, Distribution]) -> dict[str, Any]:
    return {name: d.to_json() for name, d in sorted(space.items())}


def _bounds(kind: str, low: object, high: object) -> tuple[float, float]:
    for value, what in ((low, "low"), (high, "high")):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidInputError(f"{kind} {what} must be a finite number, got {value!r}")
    lo, hi = float(low), float(high)  # type: ignore[arg-type]
    if not lo < hi:
        raise InvalidInputError(f"{kind} needs low < high, got low={lo:g}, high={hi:g}")
    return lo, hi
