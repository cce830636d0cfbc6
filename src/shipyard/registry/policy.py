"""Checking a policy: every gate of it, against one version and the alias's current holder.

Gates read the registry and the other domains through a :class:`GateContext`, which
the :class:`~shipyard.registry.service.RegistryService` provides. A gate that cannot
be checked (an unknown dataset, no evaluation) fails with a detail that says what
to do; every gate is checked, so the report lists every reason at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from shipyard.core.errors import ShipyardError
from shipyard.registry.gates import OPS, describe
from shipyard.registry.models import Approval, Evaluation, GateReport, GateResult, GateSpec, ModelVersion

APPROVER_ROLES = frozenset({"approver", "admin"})


class GateContext(Protocol):
    """What gates need to know, provided by the registry service."""

    def dataset(self, ref: str) -> tuple[str, str]:
        """``(name@version, digest)`` of a dataset reference (``"holdout"`` means its latest version)."""
        ...

    def evaluations(self, version: ModelVersion, dataset_digest: str | None) -> list[Evaluation]:
        """Evaluations of the version's package (on one dataset digest, or all), newest first."""
        ...

    def evaluate_like(self, version: ModelVersion, template: Evaluation) -> Evaluation:
        """Evaluate ``version`` on the data, target, task and slices of ``template``, and keep it."""
        ...

    def validation(self, dataset_ref: str, suite: str) -> bool | None:
        """Whether the latest run of suite ``suite`` on that dataset version passed; None if never run."""
        ...

    def approvals(self, version: ModelVersion, alias: str) -> list[Approval]: ...

    def card(self, version: ModelVersion) -> dict[str, str]:
        """The model-card fields of the version's model."""
        ...


@dataclass(frozen=True)
class Subject:
    """What is being checked: ``version`` taking ``alias`` from ``champion`` (None: nobody)."""

    version: ModelVersion
    alias: str
    champion: ModelVersion | None


def check_policy(gates: Sequence[GateSpec], subject: Subject, context: GateContext) -> GateReport:
    """Check every gate; a gate that raises a Shipyard error fails with its message."""
    results = []
    for spec in gates:
        try:
            results.append(_CHECKERS[spec.kind](spec, subject, context))
        except ShipyardError as exc:
            results.append(GateResult(spec.kind, describe(spec), False, None, _required(spec), exc.message))
    return GateReport(results)


def _required(spec: GateSpec) -> Any:
    p = spec.params
    if spec.kind in ("metric", "fairness"):
        return f"{p['op']} {p['threshold']}"
    if spec.kind == "beats_champion":
        return f"delta >= {p['min_delta']}"
    if spec.kind == "approvals":
        return p["count"]
    if spec.kind == "card_fields":
        return list(p["fields"])
    return "passed"


def _result(spec: GateSpec, passed: bool, observed: Any, detail: str = "") -> GateResult:
    return GateResult(spec.kind, describe(spec), passed, observed, _required(spec), detail)


def _number(value: Any) -> float | None:
    """A finite float, or None for a missing or NaN metric."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


def _find(
    context: GateContext, version: ModelVersion, dataset: str | None, has: Callable[[Evaluation], bool]
) -> tuple[Evaluation | None, str]:
    """The newest evaluation of ``version`` on ``dataset`` (or on any data) passing ``has``; and where."""
    if dataset is None:
        found = [e for e in context.evaluations(version, None) if has(e)]
        return (found[0] if found else None), "any dataset"
    ref, digest = context.dataset(dataset)
    found = [e for e in context.evaluations(version, digest) if has(e)]
    return (found[0] if found else None), ref


def _missing(version: ModelVersion, where: str, what: str) -> str:
    data = "DATA" if where == "any dataset" else f'"{where}"'
    return (
        f"{version.name}:{version.version} has no evaluation with {what} on {where}: "
        f'run sy.evaluate("{version.uri}", {data}, target=...) first'
    )


def _check_metric(spec: GateSpec, subject: Subject, context: GateContext) -> GateResult:
    p = spec.params
    name = p["metric"]
    evaluation, where = _find(context, subject.version, p.get("dataset"), lambda e: name in e.metrics)
    if evaluation is None:
        return _result(spec, False, None, _missing(subject.version, where, repr(name)))
    return _compare(spec, _number(evaluation.metrics.get(name)), f"{name} on {evaluation.dataset_ref}")


def _check_fairness(spec: GateSpec, subject: Subject, context: GateContext) -> GateResult:
    p = spec.params
    name, column = p["metric"], p["slice"]
    evaluation, where = _find(
        context, subject.version, p.get("dataset"), lambda e: name in e.fairness.get(column, {})
    )
    if evaluation is None:
        what = f"{name!r} across {column!r} (evaluate with slices=[{column!r}])"
        return _result(spec, False, None, _missing(subject.version, where, what))
    observed = _number(evaluation.fairness[column].get(name))
    return _compare(spec, observed, f"{name} across {column!r} on {evaluation.dataset_ref}")


def _compare(spec: GateSpec, observed: float | None, what: str) -> GateResult:
    p = spec.params
    if observed is None:
        return _result(spec, False, None, f"{what} is undefined (NaN)")
    passed = OPS[p["op"]](observed, float(p["threshold"]))
    detail = "" if passed else f"{what} is {observed:g}, needs {p['op']} {p['threshold']}"
    return _result(spec, passed, observed, detail)


def _check_champion(spec: GateSpec, subject: Subject, context: GateContext) -> GateResult:
    p = spec.params
    name, champion = p["metric"], subject.champion
    if champion is None:
        return _result(spec, True, None, f"no champion: nobody holds {subject.alias!r}")
    mine, where = _find(context, subject.version, p.get("dataset"), lambda e: name in e.metrics)
    if mine is None:
        return _result(spec, False, None, _missing(subject.version, where, repr(name)))
    theirs = next((e for e in context.evaluations(champion, mine.dataset_digest) if name in e.metrics), None)
    if theirs is None:
        if mine.dataset_ref == "<dataframe>":
            detail = (
                f"the champion {champion.name}:{champion.version} has no evaluation on the DataFrame "
                f"{subject.version.name}:{subject.version.version} was evaluated on; evaluate both on a "
                "dataset version"
            )
            return _result(spec, False, None, detail)
        theirs = context.evaluate_like(champion, mine)
    challenger, holder = _number(mine.metrics.get(name)), _number(theirs.metrics.get(name))
    observed = {"challenger": challenger, "champion": holder, "champion_version": champion.version}
    if challenger is None or holder is None:
        return _result(spec, False, observed, f"{name} is undefined (NaN) on {mine.dataset_ref}")
    delta = challenger - holder if p["higher_is_better"] else holder - challenger
    observed["delta"] = delta
    passed = delta >= float(p["min_delta"])
    detail = (
        ""
        if passed
        else (
            f"{name} {challenger:g} vs the champion's {holder:g} (version {champion.version}) on "
            f"{mine.dataset_ref}: improvement {delta:g}, needs >= {p['min_delta']}"
        )
    )
    return _result(spec, passed, observed, detail)


def _check_validated(spec: GateSpec, subject: Subject, context: GateContext) -> GateResult:
    suite = spec.params["suite"]
    datasets = subject.version.datasets
    if not datasets:
        detail = f"{subject.version.name}:{subject.version.version} has no recorded training dataset versions"
        return _result(spec, False, {}, detail)
    verdicts = {ref: context.validation(ref, suite) for ref in datasets}
    observed = {
        ref: {True: "passed", False: "failed", None: "not validated"}[v] for ref, v in verdicts.items()
    }
    bad = [f"{ref} {observed[ref]}" for ref, v in verdicts.items() if v is not True]
    detail = f"suite {suite!r}: " + ", ".join(bad) if bad else ""
    return _result(spec, not bad, observed, detail)


def _check_approvals(spec: GateSpec, subject: Subject, context: GateContext) -> GateResult:
    version, needed = subject.version, int(spec.params["count"])
    users = sorted(
        {
            a.user
            for a in context.approvals(version, subject.alias)
            if a.role in APPROVER_ROLES and a.user != version.created_by
        }
    )
    passed = len(users) >= needed
    detail = (
        ""
        if passed
        else (
            f"{len(users)} of {needed} approval(s) for {subject.alias!r} by approvers other than the author "
            f"{version.created_by!r}: run shipyard models approve {version.name} {version.version} "
            f"--alias {subject.alias}"
        )
    )
    return _result(spec, passed, users, detail)


def _check_card(spec: GateSpec, subject: Subject, context: GateContext) -> GateResult:
    card = context.card(subject.version)
    wanted = list(spec.params["fields"])
    missing = [f for f in wanted if not str(card.get(f) or "").strip()]
    filled = [f for f in wanted if f not in missing]
    detail = (
        ""
        if not missing
        else (
            f"model card of {subject.version.name!r} lacks {', '.join(missing)}: set them with "
            f"sy.registry.describe({subject.version.name!r}, fields={{...}})"
        )
    )
    return _result(spec, not missing, filled, detail)


_CHECKERS: dict[str, Callable[[GateSpec, Subject, GateContext], GateResult]] = {
    "metric": _check_metric,
    "beats_champion": _check_champion,
    "validated": _check_validated,
    "fairness": _check_fairness,
    "approvals": _check_approvals,
    "card_fields": _check_card,
}
