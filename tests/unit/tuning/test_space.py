"""Search spaces: what each distribution accepts, its Optuna form, and its JSON round trip."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shipyard as sy
from shipyard.core.errors import InvalidInputError
from shipyard.tuning.space import Distribution, check_space
from shipyard.tuning.trial import Trial, TrialPruned

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)
options = st.one_of(st.none(), st.booleans(), st.integers(-100, 100), st.text(max_size=5))


@settings(deadline=None)  # the first example imports Optuna
@given(finite, finite)
def test_uniform_takes_any_ordered_pair(a: float, b: float) -> None:
    if a < b:
        d = sy.uniform(a, b)
        assert Distribution.from_json(d.to_json()) == d
        assert (d.to_optuna().low, d.to_optuna().high) == (a, b)
    else:
        with pytest.raises(InvalidInputError, match="low < high"):
            sy.uniform(a, b)


@settings(deadline=None)  # the first example imports Optuna
@given(st.integers(-50, 50), st.integers(0, 30), st.integers(1, 5))
def test_intrange_is_inclusive_and_round_trips(low: int, width: int, step: int) -> None:
    if width % step:
        with pytest.raises(InvalidInputError, match="multiple of step"):
            sy.intrange(low, low + width, step=step)
        return
    d = sy.intrange(low, low + width, step=step)
    assert Distribution.from_json(d.to_json()) == d
    optuna = d.to_optuna()
    assert optuna.low == low and optuna.step == step


@settings(deadline=None)  # the first example imports Optuna
@given(st.lists(options, min_size=1, max_size=6, unique_by=repr))
def test_choice_round_trips(values: list[object]) -> None:
    d = sy.choice(values)  # type: ignore[arg-type]
    assert Distribution.from_json(d.to_json()) == d
    assert list(d.to_optuna().choices) == values


def test_what_is_refused() -> None:
    for make, message in (
        (lambda: sy.loguniform(0, 1), "0 < low"),
        (lambda: sy.uniform(float("inf"), 2), "finite"),
        (lambda: sy.intrange(1.5, 3), "int"),  # type: ignore[arg-type]
        (lambda: sy.intrange(0, 10, log=True), "log"),
        (lambda: sy.choice([]), "non-empty"),
        (lambda: sy.choice("ab"), "list"),
        (lambda: sy.choice([1, 1]), "differ"),
        (lambda: sy.choice([object()]), "string, number"),
        (lambda: check_space({}), "dict"),
        (lambda: check_space({"bad key!": sy.uniform(0, 1)}), "illegal"),
    ):
        with pytest.raises(InvalidInputError, match=message):
            make()


def test_descriptions() -> None:
    assert sy.intrange(1, 100, log=True).describe() == "intrange(1, 100, log=True)"
    assert sy.intrange(0, 10, step=2).describe() == "intrange(0, 10, step=2)"
    assert sy.choice(["a", 1]).describe() == "choice(['a', 1])"
    assert sy.uniform(0, 0.5).describe() == "uniform(0.0, 0.5)"


def test_a_trial_checks_its_reports() -> None:
    trial = Trial(0, "r", {})
    trial.report(0.5, 0)
    with pytest.raises(InvalidInputError, match="already reported"):
        trial.report(0.6, 0)
    with pytest.raises(InvalidInputError, match="NaN"):
        trial.report(float("nan"), 1)
    with pytest.raises(InvalidInputError, match="step"):
        trial.report(1.0, -1)
    assert trial.reported == [(0, 0.5)]
    assert issubclass(TrialPruned, Exception) and sy.tuning.TrialPruned is TrialPruned
