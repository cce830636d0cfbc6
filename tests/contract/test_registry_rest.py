"""The same registry scenarios, embedded and remote.

:class:`RegistryScenarios` runs against the embedded :class:`RegistryService` (SQLite home,
the local user acting as admin) and against :class:`RestRegistry` through a real server
process on PostgreSQL (loopback without ``--auth``: the caller is ``anonymous`` with every
right). In both, packages and datasets are logged by a workspace of the same mode, so the
remote scenarios log through the REST API too, and evaluations are computed by the client.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shipyard.core.config import load_settings
from shipyard.core.errors import (
    ConflictError,
    GateFailed,
    InvalidInputError,
    NotFoundError,
    PermissionDenied,
)
from shipyard.registry import gates, wire
from shipyard.registry.rest import RestRegistry
from shipyard.registry.service import RegistryService
from shipyard.workspace import Workspace

from .registry_packages import Data, add_datasets, log_package


@dataclass
class Env:
    workspace: Workspace
    data: Data

    @property
    def registry(self) -> Any:  # RegistryService or RestRegistry: the same methods
        return self.workspace.registry

    def package(self, kind: str = "good") -> str:
        return log_package(self.workspace, self.data, kind)

    def versions(self) -> tuple[Any, Any]:
        """``fraud`` version 1 (good) and version 2 (weak)."""
        return self.registry.register("fraud", self.package("good")), self.registry.register(
            "fraud", self.package("weak")
        )


def _env(settings_home: Path, uri: str | None, folder: Path) -> Iterator[Env]:
    workspace = Workspace(load_settings(home=str(settings_home), uri=uri))
    try:
        yield Env(workspace, add_datasets(workspace, folder))
    finally:
        workspace.close()


class RegistryScenarios:
    """Scenarios every registry front (embedded service, REST client) passes unchanged."""

    def test_register_and_read_back(self, env: Env) -> None:
        uri = env.package()
        made = env.registry.register("fraud", uri, description="first try")
        assert (made.name, made.version, made.model_uri, made.description) == ("fraud", 1, uri, "first try")
        assert made.datasets == ["train@1"] and made.commit == "c0ffee" and made.flavor == "sklearn"
        assert made.package_digest == env.workspace.models.package_digest(uri)
        assert env.registry.get_version("fraud", 1) == made == env.registry.list_versions("fraud")[0]
        assert env.registry.resolve("fraud:1") == made == env.registry.resolve("models:/fraud/1")
        assert env.registry.get_model("fraud").latest_version == 1
        assert [m.name for m in env.registry.list_models()] == ["fraud"]
        copy = env.registry.register("fraud-eu", "fraud@1")
        assert (copy.version, copy.model_uri, copy.package_digest) == (1, uri, made.package_digest)
        assert [m.name for m in env.registry.list_models(limit=1, offset=1)] == ["fraud-eu"]

    def test_promote_rollback_history_and_holder(self, env: Env) -> None:
        v1, v2 = env.versions()
        first = env.registry.promote("fraud", 1, "staging", reason="first")
        second = env.registry.promote("fraud", 2, "staging")
        assert (first.from_version, first.to_version, first.action, first.reason) == (
            None,
            1,
            "promote",
            "first",
        )
        assert (second.from_version, second.to_version) == (1, 2)
        assert env.registry.aliases("fraud") == {"staging": 2}
        assert env.registry.resolve("fraud@staging") == v2 == env.registry.holder("fraud", "staging")
        assert env.registry.holder("fraud", "staging", at=first.at - 1) is None
        back = env.registry.rollback("fraud", "staging", reason="bad canary")
        assert env.registry.holder("fraud", "staging", at=back.at) == v1
        assert (back.from_version, back.to_version, back.action) == (2, 1, "rollback")
        assert env.registry.history("fraud", "staging") == [first, second, back]
        assert env.registry.history("fraud") == [first, second, back]
        assert env.registry.promote("fraud", 1, "staging") == back, "promoting the holder moves nothing"
        assert env.workspace.models.load("models:/fraud@staging").package_digest == v1.package_digest

    def test_failing_gates_refuse_with_a_report_and_move_nothing(self, env: Env) -> None:
        env.versions()
        env.registry.promote("fraud", 1, "production")
        env.registry.set_policy(
            "fraud",
            "production",
            [
                gates.metric("roc_auc", ">=", 0.8, dataset="holdout"),
                gates.beats_champion("roc_auc", dataset="holdout"),
            ],
        )
        weak = env.registry.evaluate("fraud:2", "holdout", target="y")
        assert (weak.model_name, weak.model_version, weak.dataset_ref) == ("fraud", 2, "holdout@1")
        with pytest.raises(GateFailed) as caught:
            env.registry.promote("fraud", 2, "production")
        report = caught.value.details["report"]
        assert report["passed"] is False and [r["kind"] for r in report["results"]] == [
            "metric",
            "beats_champion",
        ]
        assert report["results"][0]["observed"] == pytest.approx(0.5)
        assert report["results"][1]["observed"]["champion"] > 0.9, "the champion was evaluated on the spot"
        assert env.registry.aliases("fraud") == {"production": 1}
        assert len(env.registry.history("fraud", "production")) == 1
        policy = env.registry.get_policy("fraud", "production")
        assert policy is not None and [g.kind for g in policy.gates] == ["metric", "beats_champion"]

    def test_passing_gates_move_the_alias_with_their_report(self, env: Env) -> None:
        env.versions()
        env.registry.set_policy(
            "fraud", "production", [gates.metric("roc_auc", ">=", 0.8, dataset="holdout")]
        )
        good = env.registry.evaluate("fraud:1", env.data.holdout, target="y", slices=["gender"])
        assert good.dataset_ref == "<dataframe>" and set(good.fairness["gender"]) >= {
            "demographic_parity_difference"
        }
        with pytest.raises(GateFailed):  # evaluated on a DataFrame, not on the holdout dataset
            env.registry.promote("fraud", 1, "production")
        on_holdout = env.registry.evaluate("models:/fraud/1", "holdout@1", target="y")
        change = env.registry.promote("fraud", 1, "production", reason="good enough")
        assert change.action == "promote" and change.report["passed"] is True
        assert change.report["results"][0]["observed"] == on_holdout.metrics["roc_auc"]
        listed = env.registry.list_evaluations("fraud", 1)
        assert [e.id for e in listed] == [on_holdout.id, good.id]
        assert listed[0].metrics == on_holdout.metrics and set(listed[0].plots) >= {"roc.png"}
        assert all(env.workspace.content.exists(d) for e in listed for d in e.plots.values())

    def test_override_needs_a_reason_and_is_recorded(self, env: Env) -> None:
        env.versions()
        env.registry.set_policy("fraud", "production", [gates.card_fields(["intended_use"])])
        with pytest.raises(InvalidInputError, match="reason"):
            env.registry.promote("fraud", 1, "production", override=True)
        assert env.registry.aliases("fraud") == {}
        change = env.registry.promote("fraud", 1, "production", reason="incident 42", override=True)
        assert (change.action, change.reason, change.report["passed"]) == ("override", "incident 42", False)
        assert env.registry.history("fraud", "production") == [change]

    def test_describe_sets_card_fields_that_gates_read(self, env: Env) -> None:
        env.versions()
        model = env.registry.describe("fraud", description="card fraud", fields={"intended_use": "scoring"})
        assert (model.description, model.fields) == ("card fraud", {"intended_use": "scoring"})
        version = env.registry.describe(
            "fraud", 2, description="the weak one", fields={"limitations": "none"}
        )
        assert (version.version, version.description) == (2, "the weak one")
        assert env.registry.get_model("fraud").fields == {"intended_use": "scoring", "limitations": "none"}
        env.registry.describe("fraud", fields={"limitations": None})
        assert env.registry.get_model("fraud").fields == {"intended_use": "scoring"}
        env.registry.set_policy("fraud", "production", [gates.card_fields(["intended_use"])])
        assert env.registry.promote("fraud", 2, "production").action == "promote"

    def test_the_author_cannot_approve(self, env: Env) -> None:
        env.versions()
        with pytest.raises(PermissionDenied, match="cannot approve"):
            env.registry.approve("fraud", 1, "production")
        assert env.registry.list_approvals("fraud", 1) == []

    def test_webhooks_are_kept_and_removed(self, env: Env) -> None:
        hook = env.registry.add_webhook("http://127.0.0.1:9/hook", ["alias.*"], secret="s3cret")
        assert (hook.url, hook.events, bool(hook.secret), hook.active) == (
            "http://127.0.0.1:9/hook",
            ["alias.*"],
            True,
            True,
        )
        assert [w.id for w in env.registry.list_webhooks()] == [hook.id]
        with pytest.raises(InvalidInputError):
            env.registry.add_webhook("ftp://x", ["alias.*"])
        with pytest.raises(InvalidInputError):
            env.registry.add_webhook("http://x", ["nothing.matches"])
        env.registry.remove_webhook(hook.id)
        assert env.registry.list_webhooks() == [] and env.registry.list_deliveries() == []
        with pytest.raises(NotFoundError):
            env.registry.remove_webhook(hook.id)

    def test_errors_are_the_same(self, env: Env) -> None:
        for call in (
            lambda: env.registry.get_model("nope"),
            lambda: env.registry.list_versions("nope"),
            lambda: env.registry.aliases("nope"),
            lambda: env.registry.resolve("nope@production"),
        ):
            with pytest.raises(NotFoundError):
                call()
        env.versions()
        with pytest.raises(NotFoundError):
            env.registry.get_version("fraud", 9)
        with pytest.raises(NotFoundError):
            env.registry.resolve("fraud@production")
        with pytest.raises(InvalidInputError):
            env.registry.get_version("fraud", 0)
        with pytest.raises(InvalidInputError):
            env.registry.promote("fraud", 1, "1st")
        with pytest.raises(InvalidInputError):
            env.registry.register("bad name!", env.package())
        with pytest.raises(ConflictError):
            env.registry.rollback("fraud", "production")
        with pytest.raises(InvalidInputError):
            env.registry.set_policy("fraud", "production", [{"kind": "metric", "params": {"metric": "auc"}}])


class TestEmbeddedRegistry(RegistryScenarios):
    @pytest.fixture
    def env(self, home: Path, tmp_path: Path) -> Iterator[Env]:
        yield from _env(home, None, tmp_path / "data")

    def test_it_is_the_service(self, env: Env) -> None:
        assert isinstance(env.registry, RegistryService)


@pytest.mark.postgres
class TestRestRegistry(RegistryScenarios):
    @pytest.fixture
    def env(self, postgres_uri: str, rest_server: str, tmp_path: Path) -> Iterator[Env]:
        yield from _env(tmp_path / "client-home", rest_server, tmp_path / "data")

    def test_it_is_the_rest_client(self, env: Env) -> None:
        assert isinstance(env.registry, RestRegistry)
        env.versions()
        assert env.registry.card("fraud", 1).startswith("# Model card: fraud v1")

    def test_the_server_checks_a_posted_evaluation(self, env: Env) -> None:
        env.versions()
        good = env.registry.evaluate("fraud:1", "holdout", target="y")
        http = env.registry.http

        def post(**changes: Any) -> None:
            bad = dataclasses.replace(good, **{"id": "f" * 32, **changes})
            http.request("POST", "/api/v1/evaluations", json=wire.evaluation_json(bad))

        other = "blake3:" + "0" * 64
        for changes, message in [
            ({"plots": {"roc.png": other}}, "not on the server"),
            ({"package_digest": other}, "has digest"),
            ({"model_version": 2}, "not the evaluated"),
            ({"dataset_digest": other}, "the evaluation says"),
            ({"task": "ranking"}, "unknown task"),
            ({"confusion_matrix": [[1, 2]]}, "square"),
            ({"model_uri": "fraud:1"}, "runs:/"),
            ({"id": "nope"}, "evaluation id"),
        ]:
            with pytest.raises(InvalidInputError, match=message):
                post(**changes)
        assert [e.id for e in env.registry.list_evaluations("fraud", 1)] == [good.id]
        assert good.created_by == "anonymous"
