"""The contract every :class:`ServingStore` backend passes unchanged.

A backend's test class subclasses :class:`ServingStoreContract` and provides a
``store`` fixture yielding an *empty* store.
"""

from __future__ import annotations

import threading

import pytest

from shipyard.core.errors import AlreadyExistsError, ConflictError, NotFoundError
from shipyard.core.ids import new_id
from shipyard.serving.models import Batching, DeploymentSpec, Label, PredictionSegment, Route, RouteStatus
from shipyard.serving.store.base import ServingStore


def spec(name: str = "fraud", canary: float = 0.0, at: int = 1000) -> DeploymentSpec:
    routes = [Route("primary", "fraud@production", 100.0 - canary, "primary")]
    if canary:
        routes.append(Route("canary", "fraud:7", canary, "canary"))
    return DeploymentSpec(
        name,
        0,
        routes,
        features="fraud_features",
        batching=Batching(32, 1.5),
        routing_key="user_id",
        created_at=at,
        created_by="ann",
        reason=f"canary {canary}",
    )


def segment(deployment: str, min_ts: int, max_ts: int, rows: int = 10) -> PredictionSegment:
    return PredictionSegment(new_id(), deployment, "blake3:" + "0" * 64, rows, min_ts, max_ts, max_ts + 1)


class ServingStoreContract:
    # -- specs ----------------------------------------------------------------------
    def test_specs_are_numbered_and_round_trip(self, store: ServingStore) -> None:
        first = store.create_spec(spec())
        second = store.create_spec(spec(canary=10, at=2000))
        assert (first.version, second.version) == (1, 2)
        got = store.get_spec("fraud")
        assert got == second
        assert got.routes[1] == Route("canary", "fraud:7", 10.0, "canary")
        assert got.batching == Batching(32, 1.5)
        assert (got.features, got.routing_key, got.created_by, got.reason) == (
            "fraud_features",
            "user_id",
            "ann",
            "canary 10",
        )
        assert store.get_spec("fraud", 1) == first

    def test_every_version_is_kept_in_the_history(self, store: ServingStore) -> None:
        for weight in (0, 10, 20):
            store.create_spec(spec(canary=weight))
        history = store.list_history("fraud")
        assert [s.version for s in history] == [1, 2, 3]
        assert [len(s.routes) for s in history] == [1, 2, 2]
        assert history[2].routes[0].weight == 80.0

    def test_unknown_deployment_and_version(self, store: ServingStore) -> None:
        with pytest.raises(NotFoundError):
            store.get_spec("nope")
        with pytest.raises(NotFoundError):
            store.list_history("nope")
        store.create_spec(spec())
        with pytest.raises(NotFoundError, match="no version 5"):
            store.get_spec("fraud", 5)

    def test_expected_version_guards_against_lost_updates(self, store: ServingStore) -> None:
        store.create_spec(spec(), expected_version=0)
        with pytest.raises(ConflictError):
            store.create_spec(spec(canary=5), expected_version=0)
        assert store.create_spec(spec(canary=5), expected_version=1).version == 2
        assert len(store.list_history("fraud")) == 2

    def test_list_gives_the_latest_of_each_live_deployment(self, store: ServingStore) -> None:
        store.create_spec(spec("b"))
        store.create_spec(spec("a"))
        store.create_spec(spec("b", canary=10))
        listed = store.list_specs()
        assert [(s.name, s.version) for s in listed] == [("a", 1), ("b", 2)]
        assert [s.name for s in store.list_specs(limit=1, offset=1)] == ["b"]

    def test_undeploy_keeps_the_history_and_redeploy_continues_it(self, store: ServingStore) -> None:
        store.create_spec(spec())
        store.set_status("fraud", RouteStatus("primary", "fraud:3", "ready", None, 5))
        store.delete_deployment("fraud", 3000)
        with pytest.raises(NotFoundError, match="undeployed"):
            store.get_spec("fraud")
        assert store.list_specs() == []
        assert [s.version for s in store.list_history("fraud")] == [1]
        assert store.get_spec("fraud", 1).version == 1
        with pytest.raises(NotFoundError):
            store.delete_deployment("fraud", 4000)
        with pytest.raises(NotFoundError):
            store.set_status("fraud", RouteStatus("primary", None, "loading"))
        again = store.create_spec(spec(canary=10))
        assert again.version == 2
        assert store.get_spec("fraud") == again
        assert store.list_statuses("fraud") == []

    def test_concurrent_deploys_get_distinct_versions(self, store: ServingStore) -> None:
        errors: list[BaseException] = []

        def deploy(i: int) -> None:
            try:
                store.create_spec(spec(canary=i))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=deploy, args=(i,)) for i in range(1, 7)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert [s.version for s in store.list_history("fraud")] == [1, 2, 3, 4, 5, 6]

    # -- statuses -------------------------------------------------------------------
    def test_route_status_is_replaced(self, store: ServingStore) -> None:
        store.create_spec(spec(canary=10))
        store.set_status("fraud", RouteStatus("primary", None, "loading", None, 1))
        store.set_status("fraud", RouteStatus("canary", "fraud:7", "failed", "boom", 2))
        store.set_status("fraud", RouteStatus("primary", "fraud:3", "ready", None, 3))
        assert store.list_statuses("fraud") == [
            RouteStatus("canary", "fraud:7", "failed", "boom", 2),
            RouteStatus("primary", "fraud:3", "ready", None, 3),
        ]
        with pytest.raises(NotFoundError):
            store.set_status("nope", RouteStatus("primary", None, "loading"))

    # -- segments -------------------------------------------------------------------
    def test_segments_are_found_by_deployment_and_time(self, store: ServingStore) -> None:
        a1, a2, a3 = segment("a", 0, 99), segment("a", 100, 199), segment("a", 200, 299)
        b1 = segment("b", 50, 150)
        for s in (a3, b1, a1, a2):
            store.add_segment(s)
        assert store.list_segments("a") == [a1, a2, a3]
        assert store.list_segments() == [a1, b1, a2, a3]
        assert store.list_segments("a", start=150) == [a2, a3]
        assert store.list_segments("a", end=100) == [a1]
        assert store.list_segments("a", start=99, end=101) == [a1, a2]
        assert store.list_segments("nope") == []
        with pytest.raises(AlreadyExistsError):
            store.add_segment(a1)

    # -- labels ---------------------------------------------------------------------
    def test_labels_round_trip_any_json_and_are_replaced(self, store: ServingStore) -> None:
        store.save_labels(
            [
                Label("r1", "a", 1, 10, 11),
                Label("r2", "a", {"y": "fraud", "p": [0.1, 0.9]}, 20, 21),
                Label("r3", "b", "yes", 30, 31),
            ]
        )
        store.save_labels([Label("r1", "a", 0, 40, 41), Label("r1", "a", 2, 50, 51)])
        assert store.find_labels(["r2", "r1", "zz"]) == [
            Label("r1", "a", 2, 50, 51),
            Label("r2", "a", {"y": "fraud", "p": [0.1, 0.9]}, 20, 21),
        ]
        assert [label.request_id for label in store.list_labels("a")] == ["r1", "r2"]
        assert store.list_labels("b") == [Label("r3", "b", "yes", 30, 31)]
        store.save_labels([])

    def test_many_labels_are_found_in_chunks(self, store: ServingStore) -> None:
        labels = [Label(f"r{i:05d}", "a", i % 2, i, i) for i in range(1200)]
        store.save_labels(labels)
        found = store.find_labels([f"r{i:05d}" for i in range(0, 1200, 2)] + ["missing"])
        assert [label.label for label in found] == [0] * 600
        assert len(store.list_labels("a")) == 1200
