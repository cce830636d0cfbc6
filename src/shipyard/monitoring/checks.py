"""The checks of a monitor (``sy.checks``): what each measures and when it warns or is critical.

Every check reduces a window to one ``value`` and compares it with two limits:

=====================  ===================================  ==============================================
check                  value                                warning / critical (defaults)
=====================  ===================================  ==============================================
feature_drift          share of the checked feature         any drifted column / ``critical`` share (0.5)
                       columns that drifted
prediction_drift       the test's statistic on the          drifted at ``warning`` (the test's default
                       predictions (or positive-class       threshold) / at ``critical`` (p-value tests:
                       probability) against the reference   threshold / 10; distances: threshold * 2)
data_quality           share of quality checks failed       any failed / ``critical`` share (0.5)
performance            the metric on labelled rows, worst   ``warning`` (min + 0.02 for a bounded metric)
                       model version                        / ``min`` (or ``max`` for losses)
estimated_performance  the CBPE estimate (see performance)  as ``performance``
latency                p99 of ``latency_ms``                ``warning`` (0.8 * p99_ms) / ``p99_ms``
error_rate             share of failed answers              ``warning`` (max / 2) / ``max``
=====================  ===================================  ==============================================

A check with too little data (``min_rows``) is ``skipped`` with a reason, never alerting.
Each builder returns a :class:`~shipyard.monitoring.monitor_models.CheckSpec`; the
monitor service evaluates it on a :class:`~shipyard.monitoring.evaluation.WindowData`.

>>> feature_drift(columns=["amount"], critical=0.5).params["columns"]
['amount']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shipyard.core.errors import InvalidInputError
from shipyard.monitoring.monitor_models import CheckSpec
from shipyard.monitoring.performance import (
    CLASSIFICATION,
    ESTIMABLE,
    HIGHER_IS_BETTER,
    REGRESSION,
    check_metric,
)

__all__ = [
    "KINDS",
    "check_spec",
    "checked_check",
    "data_quality",
    "error_rate",
    "estimated_performance",
    "feature_drift",
    "latency",
    "performance",
    "prediction_drift",
]

KINDS = (
    "feature_drift",
    "prediction_drift",
    "data_quality",
    "performance",
    "estimated_performance",
    "latency",
    "error_rate",
)
BOUNDED = frozenset({"accuracy", "precision", "recall", "f1", "roc_auc", "r2", "brier"})


def _share(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidInputError(f"{what} must be a share between 0 and 1, got {value!r}")
    return float(value)


def _number(value: object, what: str, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or (positive and value <= 0):
        raise InvalidInputError(f"{what} must be a {'positive ' if positive else ''}number, got {value!r}")
    return float(value)


def _columns(columns: object) -> list[str] | None:
    if columns is None:
        return None
    if (
        isinstance(columns, str)
        or not isinstance(columns, Sequence)
        or not all(isinstance(c, str) for c in columns)
    ):
        raise InvalidInputError(f"columns must be a list of column names, got {columns!r}")
    return list(columns)


def feature_drift(
    columns: Sequence[str] | None = None,
    test: str | None = None,
    threshold: float | None = None,
    warning: float = 0.0,
    critical: float = 0.5,
    name: str = "",
) -> CheckSpec:
    """Drift of the input features from the reference, column by column (``sy.monitoring.drift``'s
    rules); ``warning``/``critical`` are shares of drifted columns (``warning=0``: any column)."""
    params: dict[str, Any] = {
        "columns": _columns(columns),
        "test": test,
        "threshold": threshold,
        "warning": _share(warning, "warning"),
        "critical": _share(critical, "critical"),
    }
    if test is not None:
        from shipyard.monitoring.detection import resolve_test

        resolve_test(test)
    return CheckSpec("feature_drift", params, name)


def prediction_drift(
    test: str | None = None,
    warning: float | None = None,
    critical: float | None = None,
    column: str = "prediction",
    name: str = "",
) -> CheckSpec:
    """Drift of the model's outputs from its outputs on the reference (the reference's ``column`` when
    it has one, else the reference scored by the model serving the primary route). For a classifier
    with probabilities the positive-class probability is tested; else the prediction."""
    params: dict[str, Any] = {"test": test, "warning": warning, "critical": critical, "column": column}
    for key in ("warning", "critical"):
        if params[key] is not None:
            _number(params[key], key)
    return CheckSpec("prediction_drift", params, name)


def data_quality(
    max_null_increase: float = 0.05,
    max_out_of_range: float = 0.01,
    max_unseen: float = 0.0,
    warning: float = 0.0,
    critical: float = 0.5,
    name: str = "",
) -> CheckSpec:
    """Null-rate jumps, values outside the reference's range, unseen categories
    (``sy.monitoring.data_quality``);
    ``warning``/``critical`` are shares of failed checks (``warning=0``: any)."""
    params = {
        "max_null_increase": _share(max_null_increase, "max_null_increase"),
        "max_out_of_range": _share(max_out_of_range, "max_out_of_range"),
        "max_unseen": _share(max_unseen, "max_unseen"),
        "warning": _share(warning, "warning"),
        "critical": _share(critical, "critical"),
    }
    return CheckSpec("data_quality", params, name)


def _bounds(metric: str, min: float | None, max: float | None, warning: float | None) -> dict[str, Any]:
    if (min is None) == (max is None):
        raise InvalidInputError(f"give exactly one of min= or max= for {metric}")
    higher = metric in HIGHER_IS_BETTER
    if min is not None and not higher:
        raise InvalidInputError(f"{metric} is better when lower: give max=, not min=")
    if max is not None and higher:
        raise InvalidInputError(f"{metric} is better when higher: give min=, not max=")
    limit = _number(min if min is not None else max, "min/max")
    if warning is None and metric in BOUNDED:
        warning = limit + 0.02 if higher else limit - 0.02
    if warning is not None:
        warning = _number(warning, "warning")
        if (higher and warning < limit) or (not higher and warning > limit):
            raise InvalidInputError(f"the warning limit {warning} is beyond the critical one {limit}")
    return {"critical": limit, "warning": warning, "higher_is_better": higher}


def performance(
    metric: str,
    min: float | None = None,
    max: float | None = None,
    warning: float | None = None,
    min_labels: int = 30,
    name: str = "",
) -> CheckSpec:
    """``metric`` per model version on the window's predictions that have labels (feedback that came
    late); critical below ``min`` (above ``max`` for losses), warning past ``warning``."""
    check_metric(metric, CLASSIFICATION + REGRESSION)
    params = {"metric": metric, "min_rows": int(min_labels), **_bounds(metric, min, max, warning)}
    return CheckSpec("performance", params, name)


def estimated_performance(
    metric: str,
    min: float | None = None,
    max: float | None = None,
    warning: float | None = None,
    threshold: float = 0.5,
    min_rows: int = 30,
    name: str = "",
) -> CheckSpec:
    """``metric`` estimated from the logged probabilities of a binary classifier, without labels
    (confidence-based performance estimation, :mod:`shipyard.monitoring.performance`)."""
    check_metric(metric, ESTIMABLE)
    params = {
        "metric": metric,
        "threshold": _share(threshold, "threshold"),
        "min_rows": int(min_rows),
        **_bounds(metric, min, max, warning),
    }
    return CheckSpec("estimated_performance", params, name)


def latency(p99_ms: float = 50.0, warning: float | None = None, name: str = "") -> CheckSpec:
    """The 99th percentile of the logged latency (ms); critical above ``p99_ms``."""
    limit = _number(p99_ms, "p99_ms", positive=True)
    warn = 0.8 * limit if warning is None else _number(warning, "warning", positive=True)
    params = {"critical": limit, "warning": min(warn, limit), "higher_is_better": False, "min_rows": 1}
    return CheckSpec("latency", params, name)


def error_rate(max: float = 0.01, warning: float | None = None, name: str = "") -> CheckSpec:
    """The share of logged answers that failed (no prediction); critical above ``max``."""
    limit = _share(max, "max")
    warn = limit / 2 if warning is None else _share(warning, "warning")
    params = {"critical": limit, "warning": min(warn, limit), "higher_is_better": False, "min_rows": 1}
    return CheckSpec("error_rate", params, name)


_BUILDERS: dict[str, Any] = {
    "feature_drift": feature_drift,
    "prediction_drift": prediction_drift,
    "data_quality": data_quality,
    "performance": performance,
    "estimated_performance": estimated_performance,
    "latency": latency,
    "error_rate": error_rate,
}


def check_spec(data: dict[str, Any]) -> CheckSpec:
    """A check from its YAML form ``{kind: performance, metric: roc_auc, min: 0.85}``."""
    values = dict(data)
    kind = values.pop("kind", None)
    if kind not in _BUILDERS:
        raise InvalidInputError(f"unknown check {kind!r}; known: {', '.join(KINDS)}")
    try:
        spec: CheckSpec = _BUILDERS[kind](**values)
    except TypeError as exc:
        raise InvalidInputError(f"check {kind}: {exc}") from exc
    return spec


def checked_check(data: Mapping[str, Any]) -> CheckSpec:
    """A check as stored (``{kind, name, params}``, how a remote SDK sends it), made again by its
    builder so every limit is checked as ``sy.checks`` checks it; InvalidInputError naming the
    check and what does not hold."""
    kind, name, params = data.get("kind"), data.get("name") or "", data.get("params") or {}
    if not isinstance(kind, str) or kind not in _BUILDERS:
        raise InvalidInputError(f"unknown check {kind!r}; known: {', '.join(KINDS)}")
    if not isinstance(name, str) or not isinstance(params, Mapping):
        raise InvalidInputError(f"check {kind}: name must be text and params a mapping")
    given = CheckSpec(str(kind), dict(params), name)
    try:
        made: CheckSpec = _BUILDERS[kind](**_arguments(str(kind), params), name=name)
    except TypeError as exc:
        raise InvalidInputError(f"check {given.name}: {exc}") from exc
    except InvalidInputError as exc:
        raise InvalidInputError(f"check {given.name}: {exc}") from exc
    differing = sorted(k for k in {*made.params, *given.params} if made.params.get(k) != given.params.get(k))
    if differing:
        raise InvalidInputError(
            f"check {given.name}: params {', '.join(differing)} are not what sy.checks.{kind} makes "
            f"(expected {', '.join(f'{k}={made.params.get(k)!r}' for k in differing)})"
        )
    return made


def _arguments(kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The builder's keyword arguments that make ``params`` (the inverse of each builder)."""
    values = dict(params)
    if kind in ("performance", "estimated_performance"):
        higher = values.pop("higher_is_better", True)
        values["min" if higher else "max"] = values.pop("critical", None)
        if kind == "performance":
            values["min_labels"] = values.pop("min_rows", 30)
    elif kind in ("latency", "error_rate"):
        values.pop("higher_is_better", None)
        values.pop("min_rows", None)
        values["p99_ms" if kind == "latency" else "max"] = values.pop("critical", None)
    return values
