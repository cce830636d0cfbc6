"""Canary analysis: is the canary route at least as good as the primary, window after window?

Each window compares the canary's logged predictions with the primary's (shadow copies
left out) and each comparison is a one-sided statistical test of "the canary is worse",
significant at ``alpha`` (default 0.01):

===========================  =======================================  =================================
comparison                   test                                     finding when significant
===========================  =======================================  =================================
error rate                   two-proportion z-test on failed answers  critical
latency                      Mann-Whitney U on ``latency_ms``         warning (critical if the canary's
                                                                      median is over twice the primary's)
prediction distribution      the drift test of ``sy.monitoring``      warning (a new model may well
                             (positive-class probability or class)    predict differently)
realised performance         two-proportion z-test on correct         critical
(labels on both sides)       answers (classification), Mann-Whitney
                             on absolute errors (regression)
===========================  =======================================  =================================

A window *passes* when each side has at least ``min_samples`` predictions and nothing
reached ``abort_on`` (findings below it are reported, e.g. a better model's different
prediction distribution, and do not stop the streak); a window with too few samples
neither passes nor fails. After
``promote_after`` consecutive passing windows of the same canary version, that version
is promoted to ``alias`` (default: the alias the primary route follows) through the
registry, so its gates apply: a ``GateFailed`` is recorded and the canary is stopped
(weight 0). A finding at ``abort_on`` sets the canary's weight to 0 through
``ServingService.set_weight`` with the findings as the reason. The streak is kept in
the monitor results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.core.errors import GateFailed, NotFoundError, ShipyardError
from shipyard.monitoring.monitor_models import ActionSpec, worst
from shipyard.monitoring.performance import positive_scores

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.monitoring.service import MonitoringService
    from shipyard.registry.service import RegistryService
    from shipyard.serving.service import ServingService

__all__ = ["CanaryFinding", "analyse", "compare"]

_RANK = {"ok": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class CanaryFinding:
    """One comparison of canary and primary: the test, its p-value and the verdict."""

    comparison: str
    test: str
    primary: float | None
    canary: float | None
    p_value: float | None
    status: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def compare(
    primary: pd.DataFrame, canary: pd.DataFrame, monitoring: MonitoringService, alpha: float = 0.01
) -> list[CanaryFinding]:
    """Every comparison that the data allow (see the module docstring)."""
    findings = [_errors(primary, canary, alpha), _latency(primary, canary, alpha)]
    findings.append(_distribution(primary, canary, monitoring))
    found = _performance(primary, canary, alpha)
    if found is not None:
        findings.append(found)
    return [f for f in findings if f is not None]


def _z_worse(bad_p: int, n_p: int, bad_c: int, n_c: int) -> float:
    """One-sided p-value that the canary's share of bad outcomes is higher than the primary's."""
    from scipy.stats import norm

    pooled = (bad_p + bad_c) / (n_p + n_c)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_p + 1 / n_c))
    if se == 0:
        return 1.0
    return float(norm.sf((bad_c / n_c - bad_p / n_p) / se))


def _errors(primary: pd.DataFrame, canary: pd.DataFrame, alpha: float) -> CanaryFinding:
    e_p, e_c = int(primary["prediction"].isna().sum()), int(canary["prediction"].isna().sum())
    p = _z_worse(e_p, len(primary), e_c, len(canary))
    status = "critical" if p < alpha else "ok"
    return CanaryFinding("error_rate", "z_proportion", e_p / len(primary), e_c / len(canary), p, status)


def _latency(primary: pd.DataFrame, canary: pd.DataFrame, alpha: float) -> CanaryFinding | None:
    from scipy.stats import mannwhitneyu

    lp = primary["latency_ms"].to_numpy(dtype=float, na_value=np.nan)
    lc = canary["latency_ms"].to_numpy(dtype=float, na_value=np.nan)
    lp, lc = lp[np.isfinite(lp)], lc[np.isfinite(lc)]
    if lp.size == 0 or lc.size == 0:
        return None
    p = float(mannwhitneyu(lc, lp, alternative="greater").pvalue)
    mp, mc = float(np.median(lp)), float(np.median(lc))
    status = "ok" if p >= alpha else "critical" if mc > 2 * mp else "warning"
    return CanaryFinding("latency", "mann_whitney", mp, mc, p, status, "median latency (ms)")


def _distribution(
    primary: pd.DataFrame, canary: pd.DataFrame, monitoring: MonitoringService
) -> CanaryFinding | None:
    import pandas as pd

    sides = []
    for frame in (primary, canary):
        rows = frame[frame["prediction"].notna()]
        scores = positive_scores(rows["probabilities"]) if len(rows) else None
        values = scores if scores is not None else rows["prediction"].astype(str).to_numpy()
        sides.append(pd.DataFrame({"output": values}))
    if any(len(s) == 0 for s in sides) or sides[0]["output"].dtype != sides[1]["output"].dtype:
        return None
    drift = monitoring.drift(sides[0], sides[1], ["output"]).columns[0]
    status = "warning" if drift.drifted else "ok"
    return CanaryFinding(
        "prediction_distribution", drift.test, None, _num(drift.statistic), _num(drift.p_value), status
    )


def _performance(primary: pd.DataFrame, canary: pd.DataFrame, alpha: float) -> CanaryFinding | None:
    from scipy.stats import mannwhitneyu

    sides = []
    for frame in (primary, canary):
        if "label" not in frame:
            return None
        rows = frame[frame["label"].notna() & frame["prediction"].notna()]
        if len(rows) == 0:
            return None
        sides.append(rows)
    lp, lc = sides
    numeric = all(_is_number(v) for v in lp["label"].tolist() + lc["label"].tolist())
    if numeric and _regression(lp):
        ap = np.abs(lp["label"].to_numpy(float) - lp["prediction"].to_numpy(float))
        ac = np.abs(lc["label"].to_numpy(float) - lc["prediction"].to_numpy(float))
        p = float(mannwhitneyu(ac, ap, alternative="greater").pvalue)
        status = "critical" if p < alpha else "ok"
        return CanaryFinding(
            "performance", "mann_whitney", float(ap.mean()), float(ac.mean()), p, status, "mae"
        )
    wrong_p = int((lp["label"] != lp["prediction"]).sum())
    wrong_c = int((lc["label"] != lc["prediction"]).sum())
    p = _z_worse(wrong_p, len(lp), wrong_c, len(lc))
    status = "critical" if p < alpha else "ok"
    acc_p, acc_c = 1 - wrong_p / len(lp), 1 - wrong_c / len(lc)
    return CanaryFinding("performance", "z_proportion", acc_p, acc_c, p, status, "accuracy on labelled rows")


def _regression(rows: pd.DataFrame) -> bool:
    values = rows["prediction"].tolist()
    return any(isinstance(v, float) and not float(v).is_integer() for v in values)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _num(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


# -- the action -----------------------------------------------------------------------------------
def analyse(
    spec: ActionSpec,
    deployment: str,
    predictions: pd.DataFrame,
    previous: dict[str, Any] | None,
    serving: ServingService,
    registry: RegistryService,
    monitoring: MonitoringService,
) -> dict[str, Any]:
    """One window of canary analysis and what it did (the dict kept as the result's ``canary``)."""
    p = spec.params
    resolved = {r.route.name: r for r in serving.resolve(deployment)}
    route = resolved.get(p["route"])
    if route is None or route.route.weight <= 0:
        return {"status": "skipped", "detail": f"no live {p['route']!r} route on {deployment}", "streak": 0}
    primary = next((r for r in resolved.values() if r.route.mode == "primary"), None)
    version = f"{route.model_name}:{route.model_version}"
    rows_c = predictions[predictions["route"] == p["route"]]
    rows_p = predictions[predictions["route"] == (primary.route.name if primary else "primary")]
    state: dict[str, Any] = {"canary_version": version, "route": p["route"]}
    if min(len(rows_c), len(rows_p)) < p["min_samples"]:
        streak = _streak(previous, version)
        detail = f"too few predictions (primary {len(rows_p)}, canary {len(rows_c)}; need {p['min_samples']})"
        return {**state, "status": "insufficient", "detail": detail, "streak": streak}
    findings = compare(rows_p, rows_c, monitoring, p["alpha"])
    verdict = worst([f.status for f in findings])
    state["findings"] = [f.to_dict() for f in findings]
    if _RANK[verdict] >= _RANK[p["abort_on"]]:
        why = "; ".join(
            f"{f.comparison} {f.status} (p={f.p_value:.3g})" for f in findings if f.status != "ok"
        )
        return {**state, **_abort(serving, deployment, p["route"], f"canary {version} aborted: {why}")}
    streak = _streak(previous, version) + 1
    warned = [f.comparison for f in findings if f.status != "ok"]
    detail = f"{streak} passing window(s)" + (f"; warnings: {', '.join(warned)}" if warned else "")
    state.update(status="passed", streak=streak, detail=detail)
    if streak < p["promote_after"]:
        return state
    alias = p.get("alias") or _alias_of(primary.route.model if primary else "")
    return {
        **state,
        **_promote(serving, registry, deployment, p["route"], route.model_name, route.model_version, alias),
    }


def _streak(previous: dict[str, Any] | None, version: str) -> int:
    if not previous or previous.get("canary_version") != version:
        return 0
    return int(previous.get("streak", 0)) if previous.get("status") in ("passed", "insufficient") else 0


def _alias_of(model_ref: str) -> str:
    return (
        model_ref.split("@", 1)[1]
        if "@" in model_ref and not model_ref.split("@", 1)[1].isdigit()
        else "production"
    )


def _abort(serving: ServingService, deployment: str, route: str, reason: str) -> dict[str, Any]:
    try:
        serving.set_weight(deployment, route, 0, reason=reason)
    except ShipyardError as exc:
        return {
            "status": "abort_failed",
            "detail": f"{reason}; setting the weight to 0 failed: {exc}",
            "streak": 0,
        }
    return {"status": "aborted", "detail": reason, "streak": 0}


def _promote(
    serving: ServingService,
    registry: RegistryService,
    deployment: str,
    route: str,
    model: str,
    version: int,
    alias: str,
) -> dict[str, Any]:
    reason = f"canary analysis of {deployment}: {model}:{version} passed"
    try:
        change = registry.promote(model, version, alias, reason=reason)
    except GateFailed as exc:
        report = (exc.details or {}).get("report")
        aborted = _abort(serving, deployment, route, f"{model}:{version} failed the gates of {alias}: {exc}")
        return {**aborted, "status": "gate_failed", "gate_report": report}
    except (NotFoundError, ShipyardError) as exc:
        return {"status": "promote_failed", "detail": str(exc), "streak": 0}
    done = _abort(serving, deployment, route, f"{model}:{version} promoted to {alias}; canary done")
    detail = f"promoted {model}:{version} to {alias} (was {change.from_version})"
    return {"status": "promoted", "detail": detail, "streak": 0, "route_closed": done["status"] == "aborted"}
