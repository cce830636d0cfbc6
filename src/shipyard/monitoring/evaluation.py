"""Evaluating the checks of a monitor on one window of traffic.

:class:`WindowData` is what a check sees: the window's logged predictions (shadow copies
left out), their inputs as a feature table, the reference's profile and, on demand, the
model's outputs on the reference. :func:`evaluate` turns a
:class:`~shipyard.monitoring.monitor_models.CheckSpec` into a
:class:`~shipyard.monitoring.monitor_models.CheckOutcome` (limits in
:mod:`shipyard.monitoring.checks`); a check that cannot run on this window (too few
rows, no labels, no probabilities) is ``skipped`` with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.core.errors import InvalidInputError
from shipyard.monitoring.monitor_models import CheckOutcome, CheckSpec
from shipyard.monitoring.performance import estimate, positive_scores, realised

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.monitoring.profiles import ReferenceProfile
    from shipyard.monitoring.service import MonitoringService

__all__ = ["WindowData", "evaluate", "judge"]

MAX_HISTOGRAM_VALUES = 5000


@dataclass
class WindowData:
    """One window: ``predictions`` (rows of the log), ``features`` (the ``input.*`` columns renamed)."""

    predictions: pd.DataFrame
    features: pd.DataFrame
    reference: ReferenceProfile
    monitoring: MonitoringService
    reference_outputs: Callable[[], pd.DataFrame | None] = field(default=lambda: None)
    #: every request logged in the window, failed ones included (``predictions`` holds the
    #: answered ones); None when the two are the same
    answers: pd.DataFrame | None = None


def judge(value: float, warning: float | None, critical: float | None, higher_is_better: bool) -> str:
    """``critical`` past the critical limit, ``warning`` past the warning one, else ``ok``."""

    def past(limit: float | None) -> bool:
        return limit is not None and (value < limit if higher_is_better else value > limit)

    return "critical" if past(critical) else "warning" if past(warning) else "ok"


def evaluate(spec: CheckSpec, data: WindowData) -> CheckOutcome:
    """The outcome of ``spec`` on ``data``; bad parameters for this data give a ``skipped`` outcome."""
    run = _EVALUATORS[spec.kind]
    try:
        return run(spec, data)
    except InvalidInputError as exc:
        return CheckOutcome(spec.name, spec.kind, "skipped", detail=exc.message)


def _skip(spec: CheckSpec, why: str) -> CheckOutcome:
    return CheckOutcome(spec.name, spec.kind, "skipped", detail=why)


def _share_status(share: float, failed: int, warning: float, critical: float) -> str:
    if failed == 0:
        return "ok"
    return "critical" if share >= critical else "warning" if share >= warning else "ok"


# -- drift and quality -------------------------------------------------------------------------
def _feature_drift(spec: CheckSpec, data: WindowData) -> CheckOutcome:
    p = spec.params
    present = set(data.features.columns)
    wanted = p.get("columns") or [n for n in data.reference.columns if n in present]
    missing = [c for c in (p.get("columns") or data.reference.columns) if c not in present]
    if p.get("columns") and missing:
        return _skip(spec, f"the deployment's inputs have no column {', '.join(missing)}")
    if not wanted:
        return _skip(spec, "no reference column is among the deployment's inputs")
    report = data.monitoring.drift(
        data.reference, data.features[wanted], wanted, p.get("test"), p.get("threshold")
    )
    columns = {
        c.column: {
            "test": c.test,
            "statistic": _finite(c.statistic),
            "p_value": _finite(c.p_value),
            "threshold": c.threshold,
            "drifted": c.drifted,
        }
        for c in report.columns
    }
    share = report.share_drifted
    status = _share_status(share, report.n_drifted, p["warning"], p["critical"])
    drifted = [c.column for c in report.columns if c.drifted]
    detail = f"{report.n_drifted} of {len(report.columns)} columns drifted" + (
        f" ({', '.join(drifted)})" if drifted else ""
    )
    figures = {"columns": columns, "missing_columns": missing, "skipped": dict(report.skipped)}
    return CheckOutcome(spec.name, spec.kind, status, share, p["warning"], p["critical"], detail, figures)


def _data_quality(spec: CheckSpec, data: WindowData) -> CheckOutcome:
    from shipyard.monitoring.models import QualityLimits

    p = spec.params
    present = set(data.features.columns)
    names = [n for n in data.reference.columns if n in present]
    if not names:
        return _skip(spec, "no reference column is among the deployment's inputs")
    limits = QualityLimits(p["max_null_increase"], p["max_out_of_range"], p["max_unseen"])
    checks = data.monitoring.data_quality(data.reference, data.features[names], names, limits)
    failed = [c for c in checks if c.failed]
    share = len(failed) / len(checks) if checks else 0.0
    figures = {
        "checks": [
            {
                "column": c.column,
                "check": c.check,
                "reference": _finite(c.reference),
                "current": _finite(c.current),
                "threshold": _finite(c.threshold),
                "failed": c.failed,
            }
            for c in checks
        ]
    }
    detail = f"{len(failed)} of {len(checks)} quality checks failed" + (
        f" ({', '.join(f'{c.column}:{c.check}' for c in failed[:10])})" if failed else ""
    )
    status = _share_status(share, len(failed), p["warning"], p["critical"])
    return CheckOutcome(spec.name, spec.kind, status, share, p["warning"], p["critical"], detail, figures)


def _prediction_drift(spec: CheckSpec, data: WindowData) -> CheckOutcome:
    import pandas as pd

    from shipyard.monitoring.detection import resolve_test
    from shipyard.monitoring.stats import StatResult

    p = spec.params
    column = p.get("column") or "prediction"
    current = _outputs(data.predictions)
    if current is None:
        return _skip(spec, "no predictions in the window")
    reference: Any
    if column in data.reference.columns:
        reference, cur = data.reference, pd.DataFrame({column: data.predictions["prediction"].tolist()})
    else:
        outputs = data.reference_outputs()
        if outputs is None:
            return _skip(spec, f"the reference has no {column!r} column and could not be scored")
        key = "score" if "score" in current and "score" in outputs else "prediction"
        column, reference, cur = key, outputs[[key]], current[[key]]
    report = data.monitoring.drift(reference, cur, [column], p.get("test"), p.get("warning"))
    result = report.columns[0]
    test = resolve_test(result.test)
    critical = p.get("critical")
    if critical is None:
        critical = result.threshold / 10 if test.compare != "stat>=" else result.threshold * 2
    stat = StatResult(result.test, result.statistic, result.p_value)
    status = "critical" if test.drifted(stat, critical) else "warning" if result.drifted else "ok"
    value = result.p_value if result.p_value is not None else result.statistic
    figures = {"column": column, "test": result.test, "statistic": _finite(result.statistic)}
    detail = f"{result.test} on {column}: statistic {result.statistic:.4g}" + (
        f", p={result.p_value:.3g}" if result.p_value is not None else ""
    )
    return CheckOutcome(spec.name, spec.kind, status, value, result.threshold, critical, detail, figures)


def _outputs(predictions: pd.DataFrame) -> pd.DataFrame | None:
    import pandas as pd

    rows = predictions[predictions["prediction"].notna()]
    if rows.empty:
        return None
    out = pd.DataFrame({"prediction": rows["prediction"].tolist()})
    scores = positive_scores(rows["probabilities"]) if "probabilities" in rows else None
    if scores is not None:
        out["score"] = scores
    return out


# -- performance, latency, errors ----------------------------------------------------------------
def _limits(spec: CheckSpec, value: float, detail: str, figures: dict[str, Any]) -> CheckOutcome:
    p = spec.params
    status = judge(value, p.get("warning"), p.get("critical"), bool(p.get("higher_is_better")))
    return CheckOutcome(
        spec.name, spec.kind, status, value, p.get("warning"), p.get("critical"), detail, figures
    )


def _worst(by_version: dict[str, float], higher_is_better: bool) -> tuple[str, float]:
    pick = min if higher_is_better else max
    version = pick(by_version, key=lambda v: by_version[v])
    return version, by_version[version]


def _performance(spec: CheckSpec, data: WindowData) -> CheckOutcome:
    p = spec.params
    frame = data.predictions
    labelled = frame[frame["label"].notna() & frame["prediction"].notna()] if "label" in frame else frame[:0]
    by_version: dict[str, float] = {}
    counts: dict[str, int] = {}
    for version, rows in labelled.groupby("model_version", dropna=False, sort=True):
        counts[str(version)] = len(rows)
        if len(rows) >= p["min_rows"]:
            by_version[str(version)] = realised(p["metric"], rows)
    if not by_version:
        return _skip(
            spec, f"fewer than {p['min_rows']} labelled predictions per model version ({counts or 0})"
        )
    version, value = _worst(by_version, p["higher_is_better"])
    detail = f"{p['metric']} {value:.4g} ({version}, {counts[version]} labels)"
    return _limits(spec, value, detail, {"metric": p["metric"], "by_version": by_version, "labels": counts})


def _estimated(spec: CheckSpec, data: WindowData) -> CheckOutcome:
    p = spec.params
    frame = data.predictions[data.predictions["prediction"].notna()]
    by_version: dict[str, float] = {}
    for version, rows in frame.groupby("model_version", dropna=False, sort=True):
        scores = positive_scores(rows["probabilities"])
        if scores is not None and len(rows) >= p["min_rows"]:
            by_version[str(version)] = estimate(p["metric"], scores, p["threshold"])
    if not by_version:
        return _skip(spec, f"fewer than {p['min_rows']} predictions with probabilities per model version")
    version, value = _worst(by_version, p["higher_is_better"])
    detail = f"estimated {p['metric']} {value:.4g} ({version})"
    return _limits(spec, value, detail, {"metric": p["metric"], "by_version": by_version})


def _latency(spec: CheckSpec, data: WindowData) -> CheckOutcome:
    values = data.predictions["latency_ms"].to_numpy(dtype=float, na_value=np.nan)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return _skip(spec, "no latencies in the window")
    p99 = float(np.percentile(values, 99))
    figures = {"p50_ms": float(np.percentile(values, 50)), "p99_ms": p99, "n": int(values.size)}
    return _limits(spec, p99, f"p99 latency {p99:.3g} ms over {values.size} predictions", figures)


def _error_rate(spec: CheckSpec, data: WindowData) -> CheckOutcome:
    """Requests the server failed (status >= 500) over every request logged in the window;
    refused input (4xx) is the caller's error and is not counted."""
    answers = data.predictions if data.answers is None else data.answers
    n = len(answers)
    if n == 0:
        return _skip(spec, "no requests in the window")
    if "status" in answers:
        errors = int((answers["status"].fillna(200).astype("int64") >= 500).sum())
    else:
        errors = int(answers["prediction"].isna().sum())
    rate = errors / n
    return _limits(spec, rate, f"{errors} of {n} requests failed", {"errors": errors, "n": n})


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


_EVALUATORS: dict[str, Callable[[CheckSpec, WindowData], CheckOutcome]] = {
    "feature_drift": _feature_drift,
    "prediction_drift": _prediction_drift,
    "data_quality": _data_quality,
    "performance": _performance,
    "estimated_performance": _estimated,
    "latency": _latency,
    "error_rate": _error_rate,
}
