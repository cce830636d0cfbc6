"""Weighted, sticky route choice: proportions within a binomial test, stickiness, minimal movement."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binomtest

from shipyard.core.errors import InvalidInputError
from shipyard.serving.routing import RouteTable, bucket, routing_key

ALPHA = 1e-4  # a correct router fails a test once in 10,000 runs


def _share(table: RouteTable, keys: list[str | None], route: str) -> int:
    index = table.names.index(route)
    return sum(1 for key in keys if table.pick_index(key) == index)


@pytest.mark.parametrize("weight", [1.0, 10.0, 33.3, 50.0, 90.0])
def test_keyed_assignment_follows_the_weights(weight: float) -> None:
    table = RouteTable.build([("primary", 100.0 - weight), ("canary", weight)])
    keys: list[str | None] = [f"customer-{i}" for i in range(20_000)]
    hits = _share(table, keys, "canary")
    assert binomtest(hits, len(keys), weight / 100.0).pvalue > ALPHA


def test_random_assignment_follows_the_weights() -> None:
    random.seed(7)
    table = RouteTable.build([("a", 50.0), ("b", 30.0), ("c", 20.0)])
    keys: list[str | None] = [None] * 20_000
    for route, weight in (("a", 0.5), ("b", 0.3), ("c", 0.2)):
        assert binomtest(_share(table, keys, route), len(keys), weight).pvalue > ALPHA


def test_bucket_is_uniform() -> None:
    points = [bucket(f"k{i}") for i in range(20_000)]
    below = sum(1 for p in points if p < 25.0)
    assert binomtest(below, len(points), 0.25).pvalue > ALPHA
    assert all(0.0 <= p < 100.0 for p in points)


@given(st.text(min_size=1, max_size=64), st.floats(min_value=0, max_value=100))
def test_a_key_always_gets_the_same_route(key: str, weight: float) -> None:
    table = RouteTable.build([("primary", 100.0 - weight), ("canary", weight)])
    assert len({table.pick_index(key) for _ in range(5)}) == 1


def test_moving_weight_moves_only_the_keys_in_between() -> None:
    before = RouteTable.build([("primary", 90.0), ("canary", 10.0)])
    after = RouteTable.build([("primary", 80.0), ("canary", 20.0)])
    keys = [f"user-{i}" for i in range(5_000)]
    canary = before.names.index("canary")
    for key in keys:  # a key on the canary stays there when the canary grows
        if before.pick_index(key) == canary:
            assert after.pick_index(key) == canary
    moved = sum(1 for key in keys if before.pick_index(key) != after.pick_index(key))
    assert binomtest(moved, len(keys), 0.10).pvalue > ALPHA


def test_zero_weight_routes_never_win() -> None:
    table = RouteTable.build([("primary", 100.0), ("canary", 0.0)])
    assert {table.pick_index(f"k{i}") for i in range(2_000)} == {0}
    assert table.pick_index_at(99.999) == 0


def test_all_zero_weights_send_everything_to_the_first_route() -> None:
    table = RouteTable.build([("a", 0.0), ("b", 0.0)])
    assert {table.pick_index(None) for _ in range(200)} == {0}


def test_weights_that_do_not_sum_to_100_are_scaled() -> None:
    table = RouteTable.build([("a", 1.0), ("b", 3.0)])
    assert table.bounds == (25.0, 100.0)


@pytest.mark.parametrize("routes", [[], [("a", -1.0)], [("a", float("nan"))]])
def test_bad_tables_are_refused(routes: list[tuple[str, float]]) -> None:
    with pytest.raises(InvalidInputError):
        RouteTable.build(routes)


def test_routing_key_sources() -> None:
    body = {"instances": [{"user": 7}], "tenant": "acme"}
    assert routing_key({"x-routing-key": "h"}, body, "user") == "h"
    assert routing_key({}, body, "tenant") == "acme"
    assert routing_key({}, body, "user") == "7"
    assert routing_key({}, {"inputs": {"user": [3, 4]}}, "user") == "3"
    assert routing_key({}, body, None) is None
    assert routing_key({}, body, "missing") is None
    assert routing_key({}, {"instances": [{"user": {"a": 1}}]}, "user") is None
    assert routing_key({}, [1, 2], "user") is None
