"""Checks and actions as a remote SDK sends them (``{kind, name, params}``) are made again by
their builder on the server: what a builder made comes back equal after JSON, and anything
else is either that or refused with InvalidInputError, never another error."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

import shipyard as sy
from shipyard.core.errors import InvalidInputError
from shipyard.monitoring.actions import checked_action
from shipyard.monitoring.checks import checked_check
from shipyard.monitoring.monitor_models import ActionSpec, CheckSpec

share = st.floats(0, 1)
positive = st.floats(0.5, 1e4)
metrics_up = st.sampled_from(["accuracy", "precision", "recall", "f1", "roc_auc"])

checks = st.one_of(
    st.builds(
        sy.checks.feature_drift,
        columns=st.none() | st.lists(st.text(min_size=1), max_size=3),
        warning=share,
        critical=share,
    ),
    st.builds(sy.checks.prediction_drift, warning=st.none() | share, critical=st.none() | share),
    st.builds(sy.checks.data_quality, max_null_increase=share, max_out_of_range=share, warning=share),
    st.builds(
        sy.checks.performance, metric=metrics_up, min=st.floats(0, 0.9), min_labels=st.integers(1, 500)
    ),
    st.builds(sy.checks.performance, metric=st.sampled_from(["rmse", "mae", "log_loss"]), max=positive),
    st.builds(
        sy.checks.estimated_performance,
        metric=st.just("roc_auc"),
        min=st.floats(0, 0.9),
        threshold=share,
        min_rows=st.integers(1, 100),
    ),
    st.builds(sy.checks.latency, p99_ms=positive, warning=st.none() | positive),
    st.builds(sy.checks.error_rate, max=share, warning=st.none() | share),
)
actions = st.one_of(
    st.builds(
        sy.actions.notify,
        webhook=st.sampled_from(["https://hooks.example.com/T/B/X", "env:HOOK"]),
        on=st.sampled_from(["warning", "critical"]),
        retries=st.integers(0, 5),
        secret=st.none() | st.sampled_from(["k3y", "env:SIGNING"]),
    ),
    st.builds(
        sy.actions.retrain,
        pipeline=st.just("train:pipe"),
        params=st.dictionaries(st.text(min_size=1, max_size=5), st.integers(-(2**63), 2**63 - 1), max_size=3),
    ),
    st.builds(sy.actions.rollback, model=st.just("fraud"), alias=st.sampled_from(["production", "staging"])),
    st.builds(sy.actions.canary, promote_after=st.integers(1, 9), alpha=st.floats(0.001, 0.5)),
)
json_values = st.none() | st.booleans() | st.integers(-5, 500) | st.floats(-2, 2) | st.text(max_size=5)


def _wire(data: dict[str, Any]) -> Any:
    return orjson.loads(orjson.dumps(data))


@given(checks)
def test_a_built_check_comes_back_equal(spec: CheckSpec) -> None:
    assert checked_check(_wire(spec.to_dict())) == spec


@given(actions)
def test_a_built_action_comes_back_equal(spec: ActionSpec) -> None:
    assert checked_action(_wire(spec.to_dict())) == spec


@given(checks, st.text(min_size=1, max_size=20), json_values)
def test_a_changed_check_is_itself_or_refused(spec: CheckSpec, key: str, value: Any) -> None:
    data = _wire(spec.to_dict())
    data["params"][key] = value
    try:
        made = checked_check(data)
    except InvalidInputError:
        return
    assert made.to_dict() == CheckSpec(data["kind"], data["params"], data["name"]).to_dict()


@given(actions, st.text(min_size=1, max_size=20), json_values)
def test_a_changed_action_is_itself_or_refused(spec: ActionSpec, key: str, value: Any) -> None:
    data = _wire(spec.to_dict())
    data["params"][key] = value
    try:
        made = checked_action(data)
    except InvalidInputError:
        return
    assert made.params == data["params"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "vibes"}, "unknown check 'vibes'"),
        ({"kind": ["latency"]}, "unknown check"),
        ({"kind": "latency", "params": {"critical": 50.0, "warning": 90.0}}, "warning"),
        ({"kind": "latency", "params": {"critical": 50.0, "speed": 1}}, "speed"),
        (
            {
                "kind": "performance",
                "params": {"metric": "roc_auc", "critical": 0.8, "higher_is_better": False},
            },
            "better when higher",
        ),
    ],
)
def test_bad_checks_are_named(data: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        checked_check(data)


def test_retrain_params_must_be_json() -> None:
    with pytest.raises(InvalidInputError, match="JSON"):
        sy.actions.retrain("train:pipe", {"big": 2**70})
    with pytest.raises(InvalidInputError, match="unknown action"):
        checked_action({"kind": {"nested": 1}})
