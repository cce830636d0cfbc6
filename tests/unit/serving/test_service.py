"""Deployments through the service: checked deploys, versioned history, weights, aliases followed."""

from __future__ import annotations

import pytest

import shipyard as sy
from shipyard.core.errors import InvalidInputError, NotFoundError
from shipyard.serving.models import Batching, RouteStatus
from shipyard.serving.service import ServingService
from shipyard.workspace import Workspace


def test_deploy_records_a_checked_spec(serving: ServingService, fraud: list[int]) -> None:
    spec = serving.deploy(
        "fraud",
        "fraud@production",
        canary="fraud:2=10%",
        shadow="fraud:3",
        batching={"max_batch_size": 16, "max_wait_ms": 1},
        routing_key="user_id",
        reason="first",
    )
    assert spec.version == 1
    assert [(r.name, r.weight) for r in spec.routes] == [("primary", 90), ("canary", 10), ("shadow", 0)]
    assert spec.batching == Batching(16, 1.0)
    assert spec.routing_key == "user_id"
    assert spec.created_by and spec.created_at > 0 and spec.reason == "first"
    assert serving.get("fraud").spec == spec


def test_unknown_model_version_or_alias_is_refused(serving: ServingService, fraud: list[int]) -> None:
    with pytest.raises(NotFoundError, match=r"route 'primary'.*nope"):
        serving.deploy("fraud", "nope@production")
    with pytest.raises(NotFoundError, match="route 'canary'"):
        serving.deploy("fraud", "fraud@production", canary="fraud:9=5%")
    with pytest.raises(NotFoundError, match="staging"):
        serving.deploy("fraud", "fraud@staging")
    with pytest.raises(NotFoundError):
        serving.get("fraud")  # nothing was written
    with pytest.raises(NotFoundError, match="feature service"):
        serving.deploy("fraud", "fraud@production", features="no_such_service")


def test_every_change_is_kept_and_an_unchanged_deploy_writes_nothing(
    workspace: Workspace, serving: ServingService, fraud: list[int]
) -> None:
    serving.deploy("fraud", "fraud@production")
    again = serving.deploy("fraud", "fraud@production", reason="same again")
    assert again.version == 1
    serving.deploy("fraud", "fraud@production", canary="fraud:2=10%")
    serving.set_weight("fraud", "canary", 50, reason="going well")
    serving.set_weight("fraud", "canary", "50%")  # unchanged: no new version
    history = serving.history("fraud")
    assert [s.version for s in history] == [1, 2, 3]
    assert [[r.weight for r in s.routes] for s in history] == [[100], [90, 10], [50, 50]]
    assert history[-1].reason == "going well"
    events = workspace.audit.list_events()
    actions = [e.action for e in events if e.target == "deployment:fraud"]
    assert actions == ["deployment.deploy", "deployment.deploy", "deployment.set_weight"]


def test_set_weight_refuses_what_cannot_sum_to_100(serving: ServingService, fraud: list[int]) -> None:
    serving.deploy("fraud", "fraud@production", canary="fraud:2=10%", shadow="fraud:3")
    with pytest.raises(InvalidInputError, match="shadow"):
        serving.set_weight("fraud", "shadow", 10)
    with pytest.raises(InvalidInputError, match=r"0\.\.100|bad weight"):
        serving.set_weight("fraud", "canary", 120)
    with pytest.raises(InvalidInputError, match="no route"):
        serving.set_weight("fraud", "blue", 10)
    assert len(serving.history("fraud")) == 1


def test_an_alias_route_follows_promotions_and_rollbacks(
    workspace: Workspace, serving: ServingService, fraud: list[int]
) -> None:
    serving.deploy("fraud", "fraud@production", canary="fraud:3=10%")
    assert [(r.route.name, r.model_version) for r in serving.resolve("fraud")] == [
        ("primary", 1),
        ("canary", 3),
    ]
    workspace.registry.promote("fraud", 2, "production")
    resolved = serving.resolve("fraud")
    assert [(r.route.name, r.ref) for r in resolved] == [("primary", "fraud:2"), ("canary", "fraud:3")]
    version = workspace.registry.get_version("fraud", 2)
    assert (resolved[0].model_uri, resolved[0].package_digest) == (version.model_uri, version.package_digest)
    workspace.registry.rollback("fraud", "production")
    assert serving.resolve("fraud")[0].ref == "fraud:1"
    assert len(serving.history("fraud")) == 1, "following an alias changes no spec"
    workspace.registry.rollback("fraud", "production")  # rolling back twice returns to 2
    assert serving.resolve("fraud")[0].ref == "fraud:2"


def test_statuses_are_reported_per_route(serving: ServingService, fraud: list[int]) -> None:
    serving.deploy("fraud", "fraud@production", canary="fraud:2=10%")
    serving.report_status("fraud", RouteStatus("primary", "fraud:1", "ready"))
    serving.report_status("fraud", RouteStatus("canary", None, "failed", "cannot load: boom"))
    serving.report_status("fraud", RouteStatus("gone", None, "ready"))  # not a route of the spec
    statuses = serving.get("fraud").statuses
    assert sorted(statuses) == ["canary", "primary"]
    assert statuses["canary"].error == "cannot load: boom"
    assert statuses["primary"].updated_at > 0
    with pytest.raises(InvalidInputError, match="state"):
        serving.report_status("fraud", RouteStatus("primary", None, "sleeping"))
    with pytest.raises(NotFoundError):
        serving.report_status("nope", RouteStatus("primary", None, "ready"))


def test_undeploy_keeps_history_and_redeploy_continues(serving: ServingService, fraud: list[int]) -> None:
    serving.deploy("fraud", "fraud@production")
    serving.deploy("other", "fraud:2")
    serving.undeploy("fraud", reason="retired")
    assert [d.name for d in serving.list()] == ["other"]
    with pytest.raises(NotFoundError, match="undeployed"):
        serving.resolve("fraud")
    assert len(serving.history("fraud")) == 1
    assert serving.deploy("fraud", "fraud@production").version == 2


def test_the_sdk_goes_through_the_same_service(workspace: Workspace, fraud: list[int]) -> None:
    spec = sy.deploy("fraud", model="fraud@production", canary="fraud:2=20%")
    assert sy.serving.get("fraud").spec == spec
    assert [d.name for d in sy.serving.list()] == ["fraud"]
    assert sy.serving.set_weight("fraud", "canary", 30).version == 2
    assert [s.version for s in sy.serving.history("fraud")] == [1, 2]
    assert [r.ref for r in sy.serving.resolve("fraud")] == ["fraud:1", "fraud:2"]
