"""Gate specs (``sy.gates``) and the verdict of each gate kind, against a context made by hand."""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.core.errors import InvalidInputError, NotFoundError
from shipyard.registry import gates
from shipyard.registry.models import Approval, Evaluation, GateSpec, ModelVersion
from shipyard.registry.policy import Subject, check_policy

HOLDOUT = ("holdout@3", "blake3:" + "3" * 64)
OTHER_DATA = ("holdout@2", "blake3:" + "2" * 64)


def version(n: int, package: str | None = None, datasets: list[str] | None = None) -> ModelVersion:
    run = f"{n:032x}"
    return ModelVersion(
        run, "fraud", n, f"runs:/{run}/model", run, package or f"pkg{n}", "sklearn", "ann", n,
        datasets=["train@1"] if datasets is None else datasets,
    )  # fmt: skip


def evaluation(package: str, data: tuple[str, str], at: int, **metrics: float) -> Evaluation:
    fairness = {"gender": {"demographic_parity_difference": metrics.get("dpd", 0.0)}}
    return Evaluation(
        f"{at:032x}", None, None, package, "runs:/x/model", data[0], data[1], "y", "classification",
        dict(metrics), None, {"gender": {}}, fairness, {}, 10, at, "ann",
    )  # fmt: skip


@dataclass
class Context:
    """A hand-made :class:`GateContext`: evaluations, validation verdicts, approvals, a card."""

    evals: list[Evaluation] = field(default_factory=list)
    verdicts: dict[tuple[str, str], bool] = field(default_factory=dict)
    approved: list[Approval] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    evaluated: list[int] = field(default_factory=list)
    on_the_spot: dict[str, float] = field(default_factory=dict)

    def dataset(self, ref: str) -> tuple[str, str]:
        found = {"holdout": HOLDOUT, "holdout@3": HOLDOUT, "holdout@2": OTHER_DATA}.get(ref)
        if found is None:
            raise NotFoundError(f"dataset {ref!r} not found")
        return found

    def evaluations(self, v: ModelVersion, digest: str | None) -> list[Evaluation]:
        found = [
            e
            for e in self.evals
            if e.package_digest == v.package_digest and digest in (None, e.dataset_digest)
        ]
        return sorted(found, key=lambda e: -e.created_at)

    def evaluate_like(self, v: ModelVersion, template: Evaluation) -> Evaluation:
        self.evaluated.append(v.version)
        made = evaluation(
            v.package_digest, (template.dataset_ref, template.dataset_digest), 999, **self.on_the_spot
        )
        self.evals.append(made)
        return made

    def validation(self, ref: str, suite: str) -> bool | None:
        return self.verdicts.get((ref, suite))

    def approvals(self, v: ModelVersion, alias: str) -> list[Approval]:
        return [a for a in self.approved if (a.version, a.alias) == (v.version, alias)]

    def card(self, v: ModelVersion) -> dict[str, str]:
        return self.fields


def check(spec: GateSpec, context: Context, subject: Subject | None = None) -> Any:
    (result,) = check_policy([spec], subject or Subject(version(2), "production", None), context).results
    return result


# -- building and checking specs ----------------------------------------------------------
def test_builders_make_plain_specs() -> None:
    assert gates.metric("roc_auc", ">=", 0.9, dataset="holdout") == GateSpec(
        "metric", {"metric": "roc_auc", "op": ">=", "threshold": 0.9, "dataset": "holdout"}
    )
    assert gates.beats_champion("rmse").params["higher_is_better"] is False
    assert gates.beats_champion("roc_auc").params["higher_is_better"] is True
    assert gates.beats_champion("custom", higher_is_better=False).params["higher_is_better"] is False
    assert gates.validated(suite="transactions") == GateSpec("validated", {"suite": "transactions"})
    assert (
        gates.fairness("demographic_parity_difference", "<=", 0.1, slice="gender").params["slice"] == "gender"
    )
    assert gates.approvals(2) == GateSpec("approvals", {"count": 2})
    assert gates.card_fields(["intended_use", "limitations"]).params == {
        "fields": ["intended_use", "limitations"]
    }
    assert set(gates.__all__) == {
        "metric",
        "beats_champion",
        "validated",
        "fairness",
        "approvals",
        "card_fields",
    }


def test_a_spec_survives_its_dict() -> None:
    for spec in (gates.metric("f1", ">", 0.5), gates.approvals(1), gates.card_fields(["owner"])):
        assert gates.check_gate(spec.to_dict()) == spec == GateSpec.from_dict(spec.to_dict())


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: gates.metric("roc_auc", "=>", 0.9), "unknown comparison"),
        (lambda: gates.metric("roc_auc", ">=", "high"), "must be a number"),
        (lambda: gates.metric("roc_auc", ">=", math.nan), "must be a number"),
        (lambda: gates.metric("", ">=", 0.9), "non-empty string"),
        (lambda: gates.metric("roc_auc", ">=", 0.9, dataset=""), "non-empty string"),
        (lambda: gates.approvals(0), ">= 1"),
        (lambda: gates.approvals(True), ">= 1"),
        (lambda: gates.card_fields([]), "non-empty list"),
        (lambda: gates.validated(suite=""), "non-empty string"),
        (lambda: gates.fairness("demographic_parity_difference", "<=", 0.1, slice=""), "non-empty string"),
        (lambda: gates.check_gate({"kind": "vibes"}), "unknown gate kind"),
        (lambda: gates.check_gate({"params": {}}), "needs a 'kind'"),
        (lambda: gates.check_gate("metric"), "built with sy.gates"),  # type: ignore[arg-type]
    ],
)
def test_malformed_gates_are_refused(build: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        build()


OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}


@given(
    op=st.sampled_from(sorted(OPS)),
    observed=st.floats(-10, 10, allow_nan=False),
    threshold=st.floats(-10, 10, allow_nan=False),
)
def test_metric_gate_compares_like_python(op: str, observed: float, threshold: float) -> None:
    context = Context(evals=[evaluation("pkg2", HOLDOUT, 1, roc_auc=observed)])
    result = check(gates.metric("roc_auc", op, threshold, dataset="holdout"), context)
    assert result.passed is OPS[op](observed, threshold)
    assert result.observed == observed and result.required == f"{op} {threshold}"
    assert (result.detail == "") is result.passed


# -- each gate kind, passing and failing --------------------------------------------------
def test_metric_gate_reads_the_evaluation_on_that_dataset_version() -> None:
    context = Context(
        evals=[evaluation("pkg2", HOLDOUT, 1, roc_auc=0.95), evaluation("pkg2", OTHER_DATA, 2, roc_auc=0.5)]
    )
    assert check(gates.metric("roc_auc", ">=", 0.9, dataset="holdout"), context).passed
    assert not check(gates.metric("roc_auc", ">=", 0.9, dataset="holdout@2"), context).passed
    anywhere = check(gates.metric("roc_auc", ">=", 0.9), context)  # the newest evaluation with the metric
    assert not anywhere.passed and anywhere.observed == 0.5


def test_metric_gate_without_an_evaluation_says_to_run_evaluate() -> None:
    result = check(gates.metric("roc_auc", ">=", 0.9, dataset="holdout"), Context())
    assert not result.passed and result.observed is None
    assert "sy.evaluate" in result.detail and "holdout@3" in result.detail


def test_metric_gate_with_nan_or_unknown_dataset_fails() -> None:
    context = Context(evals=[evaluation("pkg2", HOLDOUT, 1, roc_auc=math.nan)])
    assert "NaN" in check(gates.metric("roc_auc", ">=", 0.9, dataset="holdout"), context).detail
    unknown = check(gates.metric("roc_auc", ">=", 0.9, dataset="nope"), context)
    assert not unknown.passed and "not found" in unknown.detail


def test_beats_champion_passes_without_a_champion() -> None:
    result = check(gates.beats_champion("roc_auc", dataset="holdout"), Context())
    assert result.passed and "no champion" in result.detail


def test_beats_champion_compares_on_the_same_dataset_version() -> None:
    champion = version(1)
    context = Context(
        evals=[
            evaluation("pkg2", HOLDOUT, 1, roc_auc=0.90),
            evaluation("pkg1", HOLDOUT, 2, roc_auc=0.88),
            evaluation("pkg1", OTHER_DATA, 3, roc_auc=0.99),  # another dataset version: not compared
        ]
    )
    subject = Subject(version(2), "production", champion)
    result = check(gates.beats_champion("roc_auc", min_delta=0.01, dataset="holdout"), context, subject)
    assert (
        result.passed
        and result.observed["champion"] == 0.88
        and result.observed["delta"] == pytest.approx(0.02)
    )
    result = check(gates.beats_champion("roc_auc", min_delta=0.05, dataset="holdout"), context, subject)
    assert not result.passed and "needs >= 0.05" in result.detail
    assert context.evaluated == []


def test_beats_champion_lower_is_better() -> None:
    context = Context(
        evals=[evaluation("pkg2", HOLDOUT, 1, log_loss=0.30), evaluation("pkg1", HOLDOUT, 2, log_loss=0.25)]
    )
    subject = Subject(version(2), "production", version(1))
    result = check(gates.beats_champion("log_loss", dataset="holdout"), context, subject)
    assert not result.passed and result.observed["delta"] == pytest.approx(-0.05)


def test_beats_champion_evaluates_the_champion_on_the_spot() -> None:
    context = Context(evals=[evaluation("pkg2", HOLDOUT, 1, roc_auc=0.90)], on_the_spot={"roc_auc": 0.95})
    subject = Subject(version(2), "production", version(1))
    result = check(gates.beats_champion("roc_auc", dataset="holdout"), context, subject)
    assert context.evaluated == [1]
    assert not result.passed and result.observed["champion"] == 0.95


def test_beats_champion_needs_the_challengers_evaluation() -> None:
    subject = Subject(version(2), "production", version(1))
    result = check(gates.beats_champion("roc_auc", dataset="holdout"), Context(), subject)
    assert not result.passed and "sy.evaluate" in result.detail


def test_validated_needs_every_training_dataset_to_pass_the_suite() -> None:
    subject = Subject(version(2, datasets=["train@1", "labels@2"]), "production", None)
    context = Context(verdicts={("train@1", "transactions"): True, ("labels@2", "transactions"): True})
    assert check(gates.validated("transactions"), context, subject).passed
    context.verdicts[("labels@2", "transactions")] = False
    failed = check(gates.validated("transactions"), context, subject)
    assert not failed.passed and failed.observed == {"train@1": "passed", "labels@2": "failed"}
    missing = check(gates.validated("other"), context, subject)
    assert missing.observed == {"train@1": "not validated", "labels@2": "not validated"}
    nothing = check(
        gates.validated("transactions"), context, Subject(version(3, datasets=[]), "production", None)
    )
    assert not nothing.passed and "no recorded training dataset" in nothing.detail


def test_fairness_gate() -> None:
    context = Context(evals=[evaluation("pkg2", HOLDOUT, 1, dpd=0.05)])
    spec = gates.fairness("demographic_parity_difference", "<=", 0.1, slice="gender", dataset="holdout")
    assert check(spec, context).passed
    context.evals.append(evaluation("pkg2", HOLDOUT, 2, dpd=0.2))
    result = check(spec, context)
    assert not result.passed and result.observed == 0.2
    unsliced = check(gates.fairness("demographic_parity_difference", "<=", 0.1, slice="region"), context)
    assert not unsliced.passed and "slices=['region']" in unsliced.detail


def test_approvals_count_distinct_approvers_who_are_not_the_author() -> None:
    approved = [
        Approval("fraud", 2, "production", "ann", "admin", 1),  # the author: never counts
        Approval("fraud", 2, "production", "bob", "editor", 2),  # not an approver role
        Approval("fraud", 2, "staging", "carol", "approver", 3),  # another alias
        Approval("fraud", 1, "production", "dave", "approver", 4),  # another version
    ]
    context = Context(approved=approved)
    result = check(gates.approvals(1), context)
    assert not result.passed and result.observed == [] and "shipyard models approve fraud 2" in result.detail
    context.approved.append(Approval("fraud", 2, "production", "carol", "approver", 5))
    assert check(gates.approvals(1), context).passed
    context.approved.append(Approval("fraud", 2, "production", "erin", "admin", 6))
    two = check(gates.approvals(2), context)
    assert two.passed and two.observed == ["carol", "erin"] and two.required == 2
    assert not check(gates.approvals(3), context).passed


def test_card_fields_must_be_filled() -> None:
    context = Context(fields={"intended_use": "fraud scoring", "limitations": "  "})
    result = check(gates.card_fields(["intended_use", "limitations"]), context)
    assert not result.passed and result.observed == ["intended_use"] and "limitations" in result.detail
    context.fields["limitations"] = "EU only"
    assert check(gates.card_fields(["intended_use", "limitations"]), context).passed


def test_every_gate_is_reported_even_after_a_failure() -> None:
    specs = [gates.approvals(1), gates.card_fields(["owner"]), gates.beats_champion("roc_auc")]
    report = check_policy(specs, Subject(version(2), "production", None), Context())
    assert [r.passed for r in report.results] == [False, False, True]
    assert not report.passed and len(report.failed) == 2
    as_dict = report.to_dict()
    assert as_dict["passed"] is False and [r["kind"] for r in as_dict["results"]] == [
        "approvals",
        "card_fields",
        "beats_champion",
    ]
    assert check_policy([], Subject(version(2), "production", None), Context()).passed
