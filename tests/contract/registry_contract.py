"""The contract every :class:`RegistryStore` backend passes unchanged.

A backend's test class subclasses :class:`RegistryStoreContract` and provides a
``store`` fixture yielding an *empty* store.
"""

from __future__ import annotations

import itertools
import math
import threading
from typing import Any

import pytest

from shipyard.core.errors import AlreadyExistsError, ConflictError, NotFoundError
from shipyard.core.ids import new_id
from shipyard.registry.models import (
    AliasChange,
    Approval,
    Delivery,
    Evaluation,
    GateSpec,
    ModelVersion,
    Policy,
    Webhook,
)
from shipyard.registry.store.base import RegistryStore


def digest(n: int) -> str:
    return "blake3:" + f"{n:064x}"


def draft(name: str, n: int = 1, **extra: Any) -> ModelVersion:
    fields: dict[str, Any] = {
        "id": new_id(),
        "name": name,
        "version": 0,
        "model_uri": f"runs:/{'a' * 32}/model",
        "run_id": "a" * 32,
        "package_digest": digest(n),
        "flavor": "sklearn",
        "created_by": "ann",
        "created_at": 1000 + n,
        **extra,
    }
    return ModelVersion(**fields)


def change(to: int | None, at: int = 5000, action: str = "promote", **extra: Any) -> AliasChange:
    return AliasChange(0, "", "", None, to, "ann", at, action=action, **extra)


def evaluation(package: int, dataset: int, created_at: int, **extra: Any) -> Evaluation:
    fields: dict[str, Any] = {
        "id": new_id(),
        "model_name": None,
        "model_version": None,
        "package_digest": digest(package),
        "model_uri": f"runs:/{'a' * 32}/model",
        "dataset_ref": "holdout@1",
        "dataset_digest": digest(100 + dataset),
        "target": "y",
        "task": "classification",
        "metrics": {"roc_auc": 0.9, "accuracy": 0.8},
        "confusion_matrix": [[5, 1], [2, 7]],
        "slices": {"gender": {"f": {"accuracy": 0.7}, "m": {"accuracy": 0.9}}},
        "fairness": {"gender": {"demographic_parity_difference": 0.05}},
        "plots": {"roc.png": digest(999)},
        "n_rows": 15,
        "created_at": created_at,
        "created_by": "ann",
        **extra,
    }
    return Evaluation(**fields)


def webhook(n: int = 1) -> Webhook:
    return Webhook(new_id(), f"http://127.0.0.1:9/hook{n}", ["alias.changed"], "s3cret", 1000 + n)


def run_threads(count: int, target: Any) -> None:
    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class RegistryStoreContract:
    # -- models and versions --------------------------------------------------------
    def test_first_version_creates_the_model(self, store: RegistryStore) -> None:
        made = store.create_version(draft("fraud", datasets=["tx@3", "labels@1"], commit="abc123"))
        assert (made.name, made.version, made.datasets, made.commit) == (
            "fraud",
            1,
            ["tx@3", "labels@1"],
            "abc123",
        )
        model = store.get_model("fraud")
        assert (model.name, model.latest_version, model.created_by, model.fields) == ("fraud", 1, "ann", {})
        assert [m.name for m in store.list_models()] == ["fraud"]

    def test_round_trip_keeps_every_field(self, store: RegistryStore) -> None:
        original = draft("fraud", 3, datasets=["tx@3"], commit="c" * 40, description="first")
        made = store.create_version(original)
        assert made == store.get_version("fraud", 1) == store.list_versions("fraud")[0]
        assert made.uri == "models:/fraud/1"
        assert {**vars(made), "version": 0} == vars(original)

    def test_numbers_increase_per_model(self, store: RegistryStore) -> None:
        assert [store.create_version(draft("a", n)).version for n in (1, 2, 3)] == [1, 2, 3]
        assert store.create_version(draft("b")).version == 1
        assert [v.version for v in store.list_versions("a")] == [1, 2, 3]
        assert [v.version for v in store.list_versions("a", limit=1, offset=1)] == [2]
        assert [m.name for m in store.list_models()] == ["a", "b"]
        assert [m.name for m in store.list_models(limit=1, offset=1)] == ["b"]
        assert store.get_model("a").latest_version == 3

    def test_concurrent_registrations_get_distinct_numbers(self, store: RegistryStore) -> None:
        got: list[int] = []
        run_threads(8, lambda n: got.append(store.create_version(draft("m", n)).version))
        assert sorted(got) == list(range(1, 9))
        assert [v.version for v in store.list_versions("m")] == list(range(1, 9))

    def test_a_taken_id_is_refused(self, store: RegistryStore) -> None:
        first = store.create_version(draft("a"))
        with pytest.raises(AlreadyExistsError):
            store.create_version(draft("a", 2, id=first.id))
        assert store.get_model("a").latest_version == 1

    def test_unknown_model_and_version(self, store: RegistryStore) -> None:
        for call in (
            lambda: store.get_model("nope"),
            lambda: store.get_version("nope", 1),
            lambda: store.list_versions("nope"),
            lambda: store.list_aliases("nope"),
            lambda: store.list_history("nope"),
            lambda: store.update_model("nope", "x"),
            lambda: store.update_version("nope", 1, "x"),
        ):
            with pytest.raises(NotFoundError):
                call()
        store.create_version(draft("a"))
        with pytest.raises(NotFoundError, match="version 2"):
            store.get_version("a", 2)
        with pytest.raises(NotFoundError):
            store.update_version("a", 2, "x")

    def test_update_model_merges_fields(self, store: RegistryStore) -> None:
        store.create_version(draft("a"))
        store.update_model("a", "fraud model", {"intended_use": "scoring", "limitations": "EU only"})
        model = store.update_model("a", fields={"limitations": None, "owner": "risk"})
        assert model.description == "fraud model"
        assert model.fields == {"intended_use": "scoring", "owner": "risk"}
        assert store.get_model("a") == model

    def test_update_version_description(self, store: RegistryStore) -> None:
        store.create_version(draft("a"))
        assert store.update_version("a", 1, "better").description == "better"
        assert store.get_version("a", 1).description == "better"
        assert store.update_version("a", 1, None).description is None

    # -- aliases --------------------------------------------------------------------
    def test_move_alias_compare_and_set(self, store: RegistryStore) -> None:
        for n in (1, 2, 3):
            store.create_version(draft("a", n))
        first = store.move_alias("a", "prod", None, change(1, at=10, reason="go"))
        assert (first.name, first.alias, first.from_version, first.to_version, first.reason) == (
            "a", "prod", None, 1, "go",
        )  # fmt: skip
        second = store.move_alias("a", "prod", 1, change(2, at=20))
        assert second.seq > first.seq and second.from_version == 1
        assert store.list_aliases("a") == {"prod": 2}
        with pytest.raises(ConflictError) as caught:
            store.move_alias("a", "prod", 1, change(3, at=30))
        assert caught.value.details["holder"] == 2
        with pytest.raises(ConflictError):
            store.move_alias("a", "prod", None, change(3, at=30))
        assert store.list_aliases("a") == {"prod": 2}
        assert [c.to_version for c in store.list_history("a", "prod")] == [1, 2]

    def test_emptying_an_alias(self, store: RegistryStore) -> None:
        store.create_version(draft("a"))
        store.move_alias("a", "prod", None, change(1, at=10))
        removed = store.move_alias("a", "prod", 1, change(None, at=20, action="remove"))
        assert (removed.from_version, removed.to_version, removed.action) == (1, None, "remove")
        assert store.list_aliases("a") == {}
        store.move_alias("a", "prod", None, change(1, at=30))
        assert store.list_aliases("a") == {"prod": 1}

    def test_alias_to_a_missing_version_is_refused(self, store: RegistryStore) -> None:
        store.create_version(draft("a"))
        with pytest.raises(NotFoundError):
            store.move_alias("a", "prod", None, change(2))
        with pytest.raises(NotFoundError):
            store.move_alias("b", "prod", None, change(1))
        assert store.list_history("a") == []

    def test_history_round_trip_and_order(self, store: RegistryStore) -> None:
        store.create_version(draft("a"))
        store.create_version(draft("a", 2))
        report = {"passed": False, "results": [{"kind": "metric", "observed": 0.5, "required": ">= 0.9"}]}
        store.move_alias("a", "prod", None, change(1, at=100))
        store.move_alias("a", "staging", None, change(2, at=101))
        done = store.move_alias(
            "a", "prod", 1, change(2, at=50, action="override", reason="hotfix", report=report)
        )
        assert done.at == 100, "the time of a change never goes back within one alias"
        assert done.report == report and done.actor == "ann"
        history = store.list_history("a", "prod")
        assert history[-1] == done
        assert [(c.action, c.at) for c in history] == [("promote", 100), ("override", 100)]
        assert [c.alias for c in store.list_history("a")] == ["prod", "staging", "prod"]
        assert [c.seq for c in store.list_history("a")] == sorted(c.seq for c in store.list_history("a"))

    def test_racing_moves_on_one_alias_are_serialised(self, store: RegistryStore) -> None:
        count = 6
        for n in range(count):
            store.create_version(draft("a", n))
        store.move_alias("a", "prod", None, change(1, at=1))

        def move(i: int) -> None:
            while True:  # what the service does: read the holder, then compare-and-set
                holder = store.list_aliases("a")["prod"]
                try:
                    store.move_alias("a", "prod", holder, change(i + 1, at=10 + i))
                    return
                except ConflictError:
                    continue

        run_threads(count, move)
        history = store.list_history("a", "prod")
        assert len(history) == count + 1
        for before, after in itertools.pairwise(history):
            assert after.from_version == before.to_version, history
            assert after.at >= before.at
        assert store.list_aliases("a")["prod"] == history[-1].to_version

    # -- policies and approvals -----------------------------------------------------
    def test_policy_round_trip_and_replace(self, store: RegistryStore) -> None:
        assert store.find_policy("a", "prod") is None
        gates = [
            GateSpec("metric", {"metric": "roc_auc", "op": ">=", "threshold": 0.9}),
            GateSpec("approvals", {"count": 1}),
        ]
        store.set_policy(Policy("a", "prod", gates, "admin", 10))
        assert store.find_policy("a", "prod") == Policy("a", "prod", gates, "admin", 10)
        store.set_policy(Policy("a", "prod", [], "bob", 20))
        assert store.find_policy("a", "prod") == Policy("a", "prod", [], "bob", 20)
        assert store.find_policy("a", "staging") is None

    def test_approvals(self, store: RegistryStore) -> None:
        store.create_version(draft("a"))
        store.create_version(draft("a", 2))
        first = store.add_approval(Approval("a", 1, "prod", "carol", "approver", 10, "looks good"))
        store.add_approval(Approval("a", 1, "staging", "carol", "approver", 11))
        store.add_approval(Approval("a", 1, "prod", "dave", "admin", 12))
        store.add_approval(Approval("a", 2, "prod", "carol", "approver", 13))
        with pytest.raises(AlreadyExistsError):
            store.add_approval(Approval("a", 1, "prod", "carol", "approver", 14))
        with pytest.raises(NotFoundError):
            store.add_approval(Approval("a", 3, "prod", "carol", "approver", 14))
        got = store.list_approvals("a", 1)
        assert got[0] == first
        assert [(a.alias, a.user, a.role) for a in got] == [
            ("prod", "carol", "approver"), ("staging", "carol", "approver"), ("prod", "dave", "admin"),
        ]  # fmt: skip

    # -- evaluations ----------------------------------------------------------------
    def test_evaluations_round_trip_and_filters(self, store: RegistryStore) -> None:
        old = store.save_evaluation(evaluation(1, 1, created_at=10, model_name="a", model_version=1))
        new = store.save_evaluation(evaluation(1, 1, created_at=20, confusion_matrix=None))
        other_data = store.save_evaluation(evaluation(1, 2, created_at=30))
        store.save_evaluation(evaluation(2, 1, created_at=40))
        assert store.list_evaluations(digest(1), digest(101)) == [new, old]
        assert store.list_evaluations(digest(1)) == [other_data, new, old]
        assert store.list_evaluations(digest(3)) == []
        undefined = store.save_evaluation(
            evaluation(3, 1, created_at=60, metrics={"roc_auc": math.nan, "accuracy": 1.0}, fairness={})
        )
        (back,) = store.list_evaluations(digest(3))
        assert math.isnan(back.metrics["roc_auc"]) and back.metrics["accuracy"] == 1.0
        assert back.id == undefined.id and back.fairness == {}
        with pytest.raises(AlreadyExistsError):
            store.save_evaluation(evaluation(1, 1, created_at=50, id=old.id))

    # -- webhooks -------------------------------------------------------------------
    def test_webhooks_and_deliveries(self, store: RegistryStore) -> None:
        one, two = store.create_webhook(webhook(1)), store.create_webhook(webhook(2))
        assert store.list_webhooks() == [one, two]
        with pytest.raises(AlreadyExistsError):
            store.create_webhook(one)
        pending = Delivery(
            new_id(), one.id, "alias.changed", {"name": "a", "to": 2}, "pending", 0, None, None, 100
        )
        store.save_delivery(pending)
        done = Delivery(
            pending.id, one.id, "alias.changed", pending.payload, "delivered", 2, 200, "timeout", 100, 150
        )
        store.save_delivery(done)
        later = store.save_delivery(
            Delivery(new_id(), two.id, "gate.failed", {}, "failed", 3, 500, "boom", 200)
        )
        assert store.list_deliveries() == [later, done]
        assert store.list_deliveries(one.id) == [done]
        assert store.list_deliveries(limit=1) == [later]
        with pytest.raises(NotFoundError):
            store.save_delivery(Delivery(new_id(), "f" * 32, "x", {}, "pending", 0, None, None, 1))
        store.delete_webhook(one.id)
        assert store.list_webhooks() == [two]
        assert store.list_deliveries() == [later]
        with pytest.raises(NotFoundError):
            store.delete_webhook(one.id)
