"""Gates a model version must pass to take an alias: ``sy.gates``.

Each function builds a :class:`~shipyard.registry.models.GateSpec`; a policy is a
list of them, set with ``sy.registry.set_policy(name, alias, gates=[...])`` and
checked inside every ``promote``::

    sy.registry.set_policy("fraud", "production", gates=[
        sy.gates.metric("roc_auc", ">=", 0.9, dataset="holdout"),
        sy.gates.beats_champion("roc_auc", min_delta=0.0, dataset="holdout"),
        sy.gates.validated(suite="transactions"),
        sy.gates.fairness("demographic_parity_difference", "<=", 0.1, slice="gender"),
        sy.gates.approvals(1),
        sy.gates.card_fields(["intended_use", "limitations"]),
    ])

``dataset`` names a dataset: ``"holdout"`` is its latest version at promotion time,
``"holdout@2"`` that version; evaluations (``sy.evaluate``) are matched by the
dataset version's digest. Without a dataset, a gate reads the newest evaluation of
the version that has the metric.

>>> metric("roc_auc", ">=", 0.9, dataset="holdout")
GateSpec(kind='metric', params={'metric': 'roc_auc', 'op': '>=', 'threshold': 0.9, 'dataset': 'holdout'})
>>> describe(beats_champion("log_loss", dataset="holdout"))
'log_loss better than the champion by at least 0.0 on holdout'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from shipyard.core.errors import InvalidInputError
from shipyard.registry.models import GateSpec

__all__ = ["approvals", "beats_champion", "card_fields", "fairness", "metric", "validated"]

OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    "==": lambda a, b: a == b,
}
# Metrics where smaller is better; every other metric is better when larger.
LOWER_IS_BETTER = frozenset({"log_loss", "brier", "rmse", "mae", "mape"})
KINDS = ("metric", "beats_champion", "validated", "fairness", "approvals", "card_fields")


def metric(name: str, op: str, threshold: float, dataset: str | None = None) -> GateSpec:
    """The version's evaluation on ``dataset`` has ``name <op> threshold`` (ops: >=, >, <=, <, ==)."""
    return check_gate(
        GateSpec("metric", {"metric": name, "op": op, "threshold": threshold, "dataset": dataset})
    )


def beats_champion(
    name: str, min_delta: float = 0.0, dataset: str | None = None, higher_is_better: bool | None = None
) -> GateSpec:
    """The version beats the alias's current holder on ``name`` by at least ``min_delta``.

    Both are compared on the same dataset version; the holder is evaluated on the
    spot if it has no evaluation there. Nobody holding the alias passes. Whether
    larger is better is known for the standard metrics (``log_loss``, ``brier``,
    ``rmse``, ``mae``, ``mape``: smaller); say so with ``higher_is_better`` otherwise.
    """
    higher = name not in LOWER_IS_BETTER if higher_is_better is None else higher_is_better
    params = {"metric": name, "min_delta": min_delta, "dataset": dataset, "higher_is_better": higher}
    return check_gate(GateSpec("beats_champion", params))


def validated(suite: str) -> GateSpec:
    """Every training dataset version of the version's run passed the validation suite named ``suite``."""
    return check_gate(GateSpec("validated", {"suite": suite}))


def fairness(name: str, op: str, threshold: float, slice: str, dataset: str | None = None) -> GateSpec:
    """The fairness gap ``name`` across the groups of column ``slice`` satisfies ``<op> threshold``
    (``demographic_parity_difference``, ``equal_opportunity_difference``; evaluate with
    ``slices=[slice]``)."""
    params = {"metric": name, "op": op, "threshold": threshold, "slice": slice, "dataset": dataset}
    return check_gate(GateSpec("fairness", params))


def approvals(count: int = 1) -> GateSpec:
    """At least ``count`` distinct users with the approver role (or admin), other than the version's
    author, approved the version for this alias (``shipyard models approve NAME V --alias A``)."""
    return check_gate(GateSpec("approvals", {"count": count}))


def card_fields(fields: Sequence[str]) -> GateSpec:
    """The model card (``describe(name, fields={...})``) has a non-empty value for every field."""
    return check_gate(
        GateSpec("card_fields", {"fields": list(fields) if not isinstance(fields, str) else [fields]})
    )


def check_gate(spec: GateSpec | Mapping[str, Any]) -> GateSpec:
    """``spec`` (or its dict) checked: a known kind and well-formed parameters, else ``InvalidInputError``."""
    if isinstance(spec, Mapping):
        if "kind" not in spec:
            raise InvalidInputError(f"a gate needs a 'kind' (one of {', '.join(KINDS)}), got {dict(spec)!r}")
        spec = GateSpec.from_dict(dict(spec))
    if not isinstance(spec, GateSpec):
        raise InvalidInputError(f"a gate is built with sy.gates.*, got {type(spec).__name__}")
    check = _CHECKS.get(spec.kind)
    if check is None:
        raise InvalidInputError(f"unknown gate kind {spec.kind!r}; kinds are: {', '.join(KINDS)}")
    check(spec.params)
    return spec


def describe(spec: GateSpec) -> str:
    """One line saying what the gate demands, e.g. ``roc_auc >= 0.9 on holdout``."""
    p = spec.params
    on = f" on {p['dataset']}" if p.get("dataset") else ""
    if spec.kind == "metric":
        return f"{p['metric']} {p['op']} {p['threshold']}{on}"
    if spec.kind == "beats_champion":
        return f"{p['metric']} better than the champion by at least {p['min_delta']}{on}"
    if spec.kind == "validated":
        return f"training data passed suite {p['suite']!r}"
    if spec.kind == "fairness":
        return f"{p['metric']} across {p['slice']!r} {p['op']} {p['threshold']}{on}"
    if spec.kind == "approvals":
        return f"at least {p['count']} approval(s) by approvers other than the author"
    return f"model card fields filled: {', '.join(p['fields'])}"


# -- parameter checks ----------------------------------------------------------------
def _text(params: Mapping[str, Any], key: str, optional: bool = False) -> None:
    value = params.get(key)
    if optional and value is None:
        return
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"gate parameter {key!r} must be a non-empty string, got {value!r}")


def _number(params: Mapping[str, Any], key: str) -> None:
    value = params.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidInputError(f"gate parameter {key!r} must be a number, got {value!r}")


def _op(params: Mapping[str, Any]) -> None:
    if params.get("op") not in OPS:
        raise InvalidInputError(f"unknown comparison {params.get('op')!r}; use one of {', '.join(OPS)}")


def _check_threshold(params: Mapping[str, Any]) -> None:
    _text(params, "metric")
    _op(params)
    _number(params, "threshold")
    _text(params, "dataset", optional=True)


def _check_champion(params: Mapping[str, Any]) -> None:
    _text(params, "metric")
    _number(params, "min_delta")
    _text(params, "dataset", optional=True)
    if not isinstance(params.get("higher_is_better"), bool):
        raise InvalidInputError("gate parameter 'higher_is_better' must be true or false")


def _check_fairness(params: Mapping[str, Any]) -> None:
    _check_threshold(params)
    _text(params, "slice")


def _check_approvals(params: Mapping[str, Any]) -> None:
    count = params.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InvalidInputError(f"approvals(count) needs a whole number >= 1, got {count!r}")


def _check_card(params: Mapping[str, Any]) -> None:
    fields = params.get("fields")
    if (
        not isinstance(fields, list)
        or not fields
        or not all(isinstance(f, str) and f.strip() for f in fields)
    ):
        raise InvalidInputError(f"card_fields needs a non-empty list of field names, got {fields!r}")


_CHECKS: dict[str, Callable[[Mapping[str, Any]], None]] = {
    "metric": _check_threshold,
    "beats_champion": _check_champion,
    "validated": lambda params: _text(params, "suite"),
    "fairness": _check_fairness,
    "approvals": _check_approvals,
    "card_fields": _check_card,
}
