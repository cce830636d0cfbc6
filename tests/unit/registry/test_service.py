"""The registry service with real scikit-learn packages: lineage, gates inside promote, overrides,
approvals, rollback, evaluations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import shipyard as sy
from shipyard.core.errors import (
    ConflictError,
    GateFailed,
    InvalidInputError,
    NotFoundError,
    PermissionDenied,
)
from shipyard.registry import gates
from shipyard.registry.models import GateSpec, ModelVersion, Policy
from shipyard.registry.service import RegistryService
from shipyard.workspace import Workspace

from .conftest import Data, Users


def set_policy(
    registry: RegistryService, users: Users, name: str, alias: str, specs: list[GateSpec]
) -> Policy:
    with users.acting("root", "admin"):
        return registry.set_policy(name, alias, specs)


def audit_actions(workspace: Workspace) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.target) for e in workspace.audit.list_events()]


# -- register -----------------------------------------------------------------------------
def test_register_records_lineage(registry: RegistryService, workspace: Workspace, good_uri: str) -> None:
    version = registry.register("fraud", good_uri, description="first try")
    run_id = good_uri.split("/")[1]
    assert (version.name, version.version, version.model_uri, version.run_id) == (
        "fraud",
        1,
        good_uri,
        run_id,
    )
    assert version.datasets == ["train@1"] and version.commit == "c0ffee"
    assert version.flavor == "sklearn" and version.created_by == "ann" and version.description == "first try"
    assert version.package_digest == workspace.models.package_digest(good_uri)
    assert registry.get_version("fraud", 1) == version == registry.resolve("models:/fraud/1")
    assert registry.get_model("fraud").latest_version == 1
    assert ("ann", "model.register", "model:fraud/1") in audit_actions(workspace)


def test_register_a_registered_version_under_another_name(
    registry: RegistryService, good: ModelVersion
) -> None:
    copy = registry.register("fraud-eu", "fraud:1")
    assert (copy.name, copy.version, copy.model_uri) == ("fraud-eu", 1, good.model_uri)
    assert (copy.package_digest, copy.datasets, copy.commit) == (
        good.package_digest,
        good.datasets,
        good.commit,
    )


def test_register_refuses_what_is_not_a_package(
    registry: RegistryService, good_uri: str, users: Users
) -> None:
    with pytest.raises(InvalidInputError):
        registry.register("bad name!", good_uri)
    with pytest.raises(NotFoundError):
        registry.register("fraud", good_uri.rsplit("/", 1)[0] + "/nothing-here")
    with pytest.raises(NotFoundError):
        registry.register("fraud", "other@production")
    with users.acting("vic", "viewer"), pytest.raises(PermissionDenied):
        registry.register("fraud", good_uri)
    with pytest.raises(NotFoundError):
        registry.get_model("fraud")


def test_versions_and_models_are_listed(
    registry: RegistryService, good: ModelVersion, weak: ModelVersion
) -> None:
    assert [v.version for v in registry.list_versions("fraud")] == [1, 2]
    assert [m.name for m in registry.list_models()] == ["fraud"]
    assert registry.resolve("fraud@2") == weak


# -- promote without and with gates --------------------------------------------------------
def test_promote_without_policy_and_resolve_by_alias(
    registry: RegistryService, workspace: Workspace, good: ModelVersion
) -> None:
    change = registry.promote("fraud", 1, "staging", reason="first")
    assert (change.from_version, change.to_version, change.action, change.report) == (
        None,
        1,
        "promote",
        None,
    )
    assert registry.aliases("fraud") == {"staging": 1}
    assert registry.resolve("fraud@staging") == good == registry.holder("fraud", "staging")
    assert registry.promote("fraud", 1, "staging") == change, "promoting the holder again moves nothing"
    assert len(registry.history("fraud", "staging")) == 1
    assert workspace.models.load("models:/fraud@staging").package_digest == good.package_digest
    assert ("ann", "alias.promote", "alias:fraud@staging") in audit_actions(workspace)


def test_a_failing_gate_refuses_with_a_report_of_every_gate_and_moves_nothing(
    registry: RegistryService,
    users: Users,
    workspace: Workspace,
    data: Data,
    good: ModelVersion,
    weak: ModelVersion,
) -> None:
    registry.promote("fraud", 1, "production")
    set_policy(
        registry,
        users,
        "fraud",
        "production",
        [
            gates.metric("roc_auc", ">=", 0.8, dataset="holdout"),
            gates.beats_champion("roc_auc", dataset="holdout"),
            gates.card_fields(["intended_use"]),
        ],
    )
    registry.evaluate("fraud:2", "holdout", target="y")
    with pytest.raises(GateFailed) as caught:
        registry.promote("fraud", 2, "production")
    assert caught.value.status == 409 and "3 of 3 gate(s) failed" in caught.value.message
    report = caught.value.details["report"]
    metric, champion, card = report["results"]
    assert report["passed"] is False
    assert (metric["passed"], metric["required"]) == (False, ">= 0.8") and metric[
        "observed"
    ] == pytest.approx(0.5)
    assert champion["passed"] is False and champion["observed"]["champion_version"] == 1
    assert champion["observed"]["champion"] > 0.9, "the champion was evaluated on the spot"
    assert card["passed"] is False and card["observed"] == []
    assert registry.aliases("fraud") == {"production": 1}
    assert len(registry.history("fraud", "production")) == 1
    assert ("ann", "alias.gate_failed", "alias:fraud@production") in audit_actions(workspace)
    assert [e.dataset_ref for e in registry.list_evaluations("fraud", 1)] == ["holdout@1"]


def test_passing_gates_move_the_alias_with_their_report(
    registry: RegistryService, users: Users, data: Data, good: ModelVersion
) -> None:
    set_policy(
        registry, users, "fraud", "production", [gates.metric("roc_auc", ">=", 0.8, dataset="holdout")]
    )
    with pytest.raises(GateFailed, match=r"sy\.evaluate"):
        registry.promote("fraud", 1, "production")
    evaluation = registry.evaluate("fraud:1", "holdout", target="y")
    change = registry.promote("fraud", 1, "production", reason="good enough")
    assert change.action == "promote" and change.report is not None and change.report["passed"] is True
    assert change.report["results"][0]["observed"] == evaluation.metrics["roc_auc"]
    assert registry.history("fraud", "production")[-1].report == change.report


def test_a_new_dataset_version_needs_a_new_evaluation(
    registry: RegistryService, users: Users, workspace: Workspace, data: Data, good: ModelVersion
) -> None:
    registry.evaluate("fraud:1", "holdout", target="y")
    set_policy(
        registry, users, "fraud", "production", [gates.metric("roc_auc", ">=", 0.8, dataset="holdout")]
    )
    path = workspace.settings.home.parent / "holdout2.parquet"
    data.holdout.head(150).to_parquet(path, index=False)
    workspace.datasets.add(path, "holdout")
    with pytest.raises(GateFailed, match="holdout@2"):
        registry.promote("fraud", 1, "production")
    set_policy(
        registry, users, "fraud", "production", [gates.metric("roc_auc", ">=", 0.8, dataset="holdout@1")]
    )
    assert registry.promote("fraud", 1, "production").to_version == 1


# -- override -----------------------------------------------------------------------------
def test_override_needs_an_admin_and_a_reason_and_is_recorded(
    registry: RegistryService, workspace: Workspace, users: Users, good: ModelVersion
) -> None:
    set_policy(registry, users, "fraud", "production", [gates.approvals(1)])
    with pytest.raises(PermissionDenied):
        registry.promote("fraud", 1, "production", reason="urgent", override=True)  # ann is an editor
    with users.acting("root", "admin"):
        with pytest.raises(InvalidInputError, match="reason"):
            registry.promote("fraud", 1, "production", override=True)
        with pytest.raises(InvalidInputError, match="reason"):
            registry.promote("fraud", 1, "production", reason="  ", override=True)
        assert registry.aliases("fraud") == {}
        change = registry.promote("fraud", 1, "production", reason="incident 42", override=True)
    assert (change.action, change.actor, change.reason) == ("override", "root", "incident 42")
    assert change.report is not None and change.report["passed"] is False
    assert change.report["results"][0]["kind"] == "approvals"
    assert registry.history("fraud", "production") == [change]
    assert ("root", "alias.override", "alias:fraud@production") in audit_actions(workspace)


def test_gates_run_for_admins_too(registry: RegistryService, users: Users, good: ModelVersion) -> None:
    with users.acting("root", "admin"):
        registry.set_policy("fraud", "production", [gates.card_fields(["intended_use"])])
        with pytest.raises(GateFailed):
            registry.promote("fraud", 1, "production")
        registry.describe("fraud", fields={"intended_use": "card fraud scoring"})
        assert registry.promote("fraud", 1, "production").action == "promote"


def test_an_override_that_was_not_needed_is_a_plain_promotion(
    registry: RegistryService, users: Users, good: ModelVersion
) -> None:
    with users.acting("root", "admin"):
        change = registry.promote("fraud", 1, "production", reason="just in case", override=True)
    assert change.action == "promote"


# -- approvals ----------------------------------------------------------------------------
def test_approvals_by_distinct_approvers_who_are_not_the_author(
    registry: RegistryService, workspace: Workspace, users: Users, good: ModelVersion
) -> None:
    set_policy(registry, users, "fraud", "production", [gates.approvals(2)])
    with users.acting("ann", "approver"), pytest.raises(PermissionDenied, match="cannot approve"):
        registry.approve("fraud", 1, "production")  # ann registered version 1
    with users.acting("bob", "editor"), pytest.raises(PermissionDenied):
        registry.approve("fraud", 1, "production")
    with users.acting("carol", "approver"):
        first = registry.approve("fraud", 1, "production", comment="metrics look right")
        assert registry.approve("fraud", 1, "production") == first, "approving twice counts once"
        registry.approve("fraud", 1, "staging")
    assert (first.user, first.role, first.comment) == ("carol", "approver", "metrics look right")
    with pytest.raises(GateFailed, match="1 of 2 approval"):
        registry.promote("fraud", 1, "production")
    with users.acting("dave", "admin"):
        assert registry.approve("fraud", 1, "production").role == "admin"
    assert registry.promote("fraud", 1, "production").report["results"][0]["observed"] == ["carol", "dave"]  # type: ignore[index]
    assert [(a.user, a.alias) for a in registry.list_approvals("fraud", 1)] == [
        ("carol", "production"),
        ("carol", "staging"),
        ("dave", "production"),
    ]
    assert ("carol", "model.approve", "model:fraud/1") in audit_actions(workspace)


def test_set_policy_is_for_admins(registry: RegistryService, users: Users) -> None:
    with pytest.raises(PermissionDenied):
        registry.set_policy("fraud", "production", [gates.approvals(1)])
    with users.acting("root", "admin"):
        policy = registry.set_policy("fraud", "production", [{"kind": "approvals", "params": {"count": 1}}])
        with pytest.raises(InvalidInputError):
            registry.set_policy("fraud", "7", [])
    assert policy.updated_by == "root" and registry.get_policy("fraud", "production") == policy
    assert registry.get_policy("fraud", "staging") is None


# -- rollback and history -----------------------------------------------------------------
def test_rollback_returns_to_the_previous_holder(
    registry: RegistryService, users: Users, workspace: Workspace, good: ModelVersion, weak: ModelVersion
) -> None:
    registry.promote("fraud", 1, "production")
    set_policy(registry, users, "fraud", "production", [gates.approvals(5)])  # rollback checks no gate
    with pytest.raises(GateFailed):
        registry.promote("fraud", 2, "production")
    set_policy(registry, users, "fraud", "production", [])
    registry.promote("fraud", 2, "production")
    back = registry.rollback("fraud", "production", reason="latency")
    assert (back.from_version, back.to_version, back.action, back.reason) == (2, 1, "rollback", "latency")
    assert registry.aliases("fraud") == {"production": 1}
    again = registry.rollback("fraud", "production")
    assert (again.from_version, again.to_version) == (1, 2), "rolling back a rollback undoes it"
    actions = [c.action for c in registry.history("fraud", "production")]
    assert actions == ["promote", "promote", "rollback", "rollback"]
    registry.promote("fraud", 1, "staging")
    removed = registry.rollback("fraud", "staging")  # version 1 was the first holder: nobody before it
    assert (removed.from_version, removed.to_version, removed.action) == (1, None, "remove")
    assert registry.aliases("fraud") == {"production": 2} and registry.holder("fraud", "staging") is None
    with pytest.raises(ConflictError, match="nothing to roll back"):
        registry.rollback("fraud", "staging")
    assert ("ann", "alias.remove", "alias:fraud@staging") in audit_actions(workspace)


def test_holder_at_a_time(registry: RegistryService, good: ModelVersion, weak: ModelVersion) -> None:
    clock = iter([1_000, 2_000, 3_000])
    registry.clock = lambda: next(clock)
    registry.promote("fraud", 1, "production")
    registry.promote("fraud", 2, "production")
    registry.rollback("fraud", "production")
    assert registry.holder("fraud", "production", at=999) is None
    assert registry.holder("fraud", "production", at=1_000) == good
    assert registry.holder("fraud", "production", at=2_500) == weak
    assert registry.holder("fraud", "production", at=10_000) == good == registry.holder("fraud", "production")
    naive = datetime(1970, 1, 1) + timedelta(milliseconds=2_500)
    aware = datetime(1970, 1, 1, 1, tzinfo=UTC).astimezone() + timedelta(milliseconds=2_500 - 3_600_000)
    assert (
        registry.holder("fraud", "production", at=naive)
        == weak
        == registry.holder("fraud", "production", at=aware)
    )
    with pytest.raises(InvalidInputError):
        registry.holder("fraud", "production", at="yesterday")  # type: ignore[arg-type]


# -- describe -----------------------------------------------------------------------------
def test_describe_model_and_version(registry: RegistryService, good: ModelVersion) -> None:
    model = registry.describe("fraud", description="scores card payments", fields={"owner": "risk"})
    assert (model.description, model.fields) == ("scores card payments", {"owner": "risk"})  # type: ignore[union-attr]
    version = registry.describe(
        "fraud", 1, description="baseline", fields={"owner": None, "limitations": "EU"}
    )
    assert isinstance(version, ModelVersion) and version.description == "baseline"
    assert registry.get_model("fraud").fields == {"limitations": "EU"}
    # Setting only fields keeps the version's description.
    registry.describe("fraud", 1, fields={"intended_use": "triage"})
    assert registry.get_version("fraud", 1).description == "baseline"
    with pytest.raises(InvalidInputError):
        registry.describe("fraud", fields={"owner": 3})  # type: ignore[dict-item]


# -- evaluations --------------------------------------------------------------------------
def test_evaluate_on_a_dataset_version(
    registry: RegistryService, workspace: Workspace, data: Data, good: ModelVersion
) -> None:
    evaluation = registry.evaluate("fraud:1", "holdout", target="y", slices=["gender"])
    holdout = workspace.datasets.get("holdout")
    assert (evaluation.model_name, evaluation.model_version) == ("fraud", 1)
    assert (evaluation.dataset_ref, evaluation.dataset_digest) == ("holdout@1", holdout.digest)
    assert evaluation.package_digest == good.package_digest and evaluation.model_uri == good.model_uri
    assert evaluation.metrics["roc_auc"] > 0.9 and evaluation.n_rows == 200 and evaluation.created_by == "ann"
    assert set(evaluation.slices["gender"]) == {"f", "m"}
    assert "demographic_parity_difference" in evaluation.fairness["gender"]
    assert set(evaluation.plots) == {"roc.png", "confusion_matrix.png", "calibration.png"}
    for digest in evaluation.plots.values():
        assert workspace.content.get_bytes(digest).startswith(b"\x89PNG")
    assert registry.list_evaluations("fraud", 1) == [evaluation]


def test_evaluate_a_dataframe_by_its_content(
    registry: RegistryService, data: Data, good: ModelVersion, good_uri: str
) -> None:
    first = registry.evaluate(good_uri, data.holdout, target="y")
    again = registry.evaluate(good_uri, data.holdout.reset_index(drop=True).copy(), target="y")
    other = registry.evaluate(good_uri, data.holdout.head(100), target="y")
    assert first.dataset_ref == "<dataframe>" and first.dataset_digest.startswith("blake3:")
    assert first.dataset_digest == again.dataset_digest != other.dataset_digest
    assert (first.model_name, first.model_version) == (None, None)
    assert registry.list_evaluations("fraud", 1) == [other, again, first], "matched by package digest"


def test_evaluate_refuses_bad_input(registry: RegistryService, data: Data, good: ModelVersion) -> None:
    with pytest.raises(InvalidInputError, match="unknown task"):
        registry.evaluate("fraud:1", "holdout", target="y", task="ranking")
    with pytest.raises(InvalidInputError, match="target column"):
        registry.evaluate("fraud:1", "holdout", target="label")
    with pytest.raises(InvalidInputError, match="give the data"):
        registry.evaluate("fraud:1", None, target="y")
    with pytest.raises(InvalidInputError):
        registry.evaluate("fraud:1", [1, 2, 3], target="y")
    assert registry.evaluate("fraud:1", None, target="y", dataset="holdout@1").dataset_ref == "holdout@1"
    assert len(registry.list_evaluations("fraud", 1)) == 1


def test_fairness_and_validated_gates_with_real_results(
    registry: RegistryService, users: Users, workspace: Workspace, data: Data, good: ModelVersion
) -> None:
    set_policy(
        registry,
        users,
        "fraud",
        "production",
        [
            gates.fairness("demographic_parity_difference", "<=", 0.3, slice="gender", dataset="holdout"),
            gates.validated(suite="transactions"),
        ],
    )
    registry.evaluate("fraud:1", "holdout", target="y", slices=["gender"])
    with pytest.raises(GateFailed) as caught:
        registry.promote("fraud", 1, "production")
    fairness, validated = caught.value.details["report"]["results"]
    assert fairness["passed"] is True
    assert validated["observed"] == {"train@1": "not validated"}
    workspace.validation.validate({"name": "other", "checks": [{"column": "a", "not_null": True}]}, "train@1")
    with pytest.raises(GateFailed):
        registry.promote("fraud", 1, "production")
    workspace.validation.validate(
        {"name": "transactions", "checks": [{"column": "a", "between": {"min": 9, "max": 10}}]}, "train@1"
    )
    with pytest.raises(GateFailed) as caught:
        registry.promote("fraud", 1, "production")
    assert caught.value.details["report"]["results"][1]["observed"] == {"train@1": "failed"}
    workspace.validation.validate(
        {"name": "transactions", "checks": [{"column": "a", "not_null": True}]}, "train@1"
    )
    assert registry.promote("fraud", 1, "production").action == "promote"


# -- the SDK ------------------------------------------------------------------------------
def test_the_sdk_goes_through_the_workspace_registry(workspace: Workspace, data: Data, good_uri: str) -> None:
    version = sy.registry.register("fraud", good_uri)
    sy.registry.set_policy(
        "fraud", "production", gates=[sy.gates.metric("accuracy", ">=", 0.6, dataset="holdout")]
    )
    evaluation = sy.evaluate("fraud@1", "holdout", target="y")
    assert evaluation.model_version == 1
    change = sy.registry.promote("fraud", version.version, "production")
    assert sy.registry.aliases("fraud") == {"production": 1}
    assert sy.registry.history("fraud", "production") == [change]
    assert sy.registry.holder("fraud", "production") == sy.registry.get_version("fraud", 1)
    assert sy.registry.get_policy("fraud", "production") is not None
    assert [v.version for v in sy.registry.list_versions("fraud")] == [1]
    assert [m.name for m in sy.registry.list_models()] == ["fraud"]
    sy.registry.describe("fraud", fields={"intended_use": "demo"})
    with pytest.raises(PermissionDenied, match="cannot approve"):
        sy.registry.approve("fraud", 1, "production")  # embedded, the local user registered it
    assert sy.registry.rollback("fraud", "production").action == "remove"
    assert sy.evaluate(good_uri, data.holdout, target="y").dataset_ref == "<dataframe>"
