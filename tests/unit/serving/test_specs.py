"""Route syntax and spec rules: what users type becomes routes, or a clear error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.core.errors import InvalidInputError
from shipyard.serving.models import Batching, DeploymentSpec, Route
from shipyard.serving.specs import (
    build_routes,
    check_batching,
    check_deployment_name,
    check_routes,
    parse_percent,
    parse_weighted,
    reweight,
)


def shape(routes: list[Route]) -> list[tuple[str, str, float, str]]:
    return [(r.name, r.model, r.weight, r.mode) for r in routes]


def test_primary_alone_takes_everything() -> None:
    assert shape(check_routes(build_routes("fraud@production"))) == [
        ("primary", "fraud@production", 100.0, "primary")
    ]


def test_canary_takes_its_share_from_the_primary_and_shadow_takes_none() -> None:
    routes = check_routes(build_routes("fraud@production", canary="fraud:7=10%", shadow="fraud:8"))
    assert shape(routes) == [
        ("primary", "fraud@production", 90.0, "primary"),
        ("canary", "fraud:7", 10.0, "canary"),
        ("shadow", "fraud:8", 0.0, "shadow"),
    ]


def test_several_canaries_and_shadows_are_numbered() -> None:
    routes = check_routes(build_routes("f@p", canary="f:2=5%,f:3=2.5", shadow=["f:4", "f:5"]))
    assert [r.name for r in routes] == ["primary", "canary", "canary-2", "shadow", "shadow-2"]
    assert routes[0].weight == 92.5


def test_ab_replaces_the_primary() -> None:
    routes = check_routes(build_routes(None, ab="fraud:5=50%,fraud:6=50%"))
    assert shape(routes) == [("ab-1", "fraud:5", 50.0, "ab"), ("ab-2", "fraud:6", 50.0, "ab")]


def test_route_objects_keep_their_names() -> None:
    routes = check_routes(build_routes("f@p", canary=Route("blue", "f:2", 20, "canary")))
    assert shape(routes) == [("primary", "f@p", 80.0, "primary"), ("blue", "f:2", 20, "canary")]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "f@p", "canary": "f:2=110%"}, "over 100%"),
        ({"model": "f@p", "canary": "f:2=60%,f:3=50%"}, "more than 100%"),
        ({"model": "f@p", "canary": "f:2"}, "has no weight"),
        ({"model": "f@p", "canary": "f:2=ten%"}, "bad weight"),
        ({"model": "f@p", "canary": "f:2=-5%"}, "bad weight"),
        ({"model": "f@p", "shadow": "f:2=10%"}, "a shadow takes no weight"),
        ({"model": None, "ab": "f:5=50%,f:6=40%"}, "sum to 100%"),
        ({"model": "f@p", "ab": "f:5=50%,f:6=50%"}, "either model or ab"),
        ({"model": None}, "nothing to serve"),
        ({"model": "runs:/abc123/model"}, "a run's package"),
        ({"model": "not a model"}, "invalid model URI"),
        ({"model": "f@p", "canary": Route("c", "f:2", 10, "shadow")}, "was given as a canary"),
        ({"model": "f@p", "canary": "f:2=10%,"}, "comma-separated"),
    ],
)
def test_bad_routes_are_refused_clearly(kwargs: dict[str, object], message: str) -> None:
    model = kwargs.pop("model")
    with pytest.raises(InvalidInputError, match=message):
        check_routes(build_routes(model, **kwargs))  # type: ignore[arg-type]


def test_duplicate_route_names_and_two_primaries_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="unique"):
        check_routes([Route("a", "f:1", 50, "ab"), Route("a", "f:2", 50, "ab")])
    with pytest.raises(InvalidInputError, match="one primary"):
        check_routes([Route("a", "f:1", 50, "primary"), Route("b", "f:2", 50, "primary")])
    with pytest.raises(InvalidInputError, match="live route"):
        check_routes([Route("s", "f:1", 0, "shadow")])


@given(st.floats(min_value=0, max_value=100, allow_nan=False).map(lambda x: round(x, 3)))
def test_any_percentage_parses_back(value: float) -> None:
    assert parse_percent(f"{value}%", "x") == pytest.approx(value)
    assert parse_percent(f"{value}", "x") == pytest.approx(value)


@given(st.text(max_size=12))
def test_percent_parsing_refuses_or_returns_a_valid_weight(text: str) -> None:
    try:
        value = parse_percent(text, "x")
    except InvalidInputError:
        return
    assert 0 <= value <= 100


@given(st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=3))
def test_canary_weights_always_leave_the_rest_to_the_primary(weights: list[int]) -> None:
    text = ",".join(f"f:{i + 2}={w}%" for i, w in enumerate(weights))
    routes = check_routes(build_routes("f@p", canary=text))
    assert sum(r.weight for r in routes) == pytest.approx(100)
    assert routes[0].weight == 100 - sum(weights)
    assert parse_weighted(text, "canary") == [(f"f:{i + 2}", float(w)) for i, w in enumerate(weights)]


def test_reweight_moves_the_difference_to_the_primary() -> None:
    routes = build_routes("f@p", canary="f:2=10%", shadow="f:3")
    assert shape(reweight(routes, "canary", 30)) == [
        ("primary", "f@p", 70.0, "primary"),
        ("canary", "f:2", 30.0, "canary"),
        ("shadow", "f:3", 0.0, "shadow"),
    ]
    assert reweight(routes, "primary", "95%")[1].weight == 5.0  # two live routes: the other one takes it


def test_reweight_refusals() -> None:
    routes = build_routes("f@p", canary="f:2=10%,f:3=10%", shadow="f:4")
    with pytest.raises(InvalidInputError, match="no route 'nope'"):
        reweight(routes, "nope", 5)
    with pytest.raises(InvalidInputError, match="shadow"):
        reweight(routes, "shadow", 5)
    with pytest.raises(InvalidInputError, match="more than 100%"):
        reweight(routes, "canary", 95)
    ab = build_routes(None, ab="f:1=40%,f:2=30%,f:3=30%")
    with pytest.raises(InvalidInputError, match="deploy again with every weight"):
        reweight(ab, "ab-1", 50)


def test_batching_and_names() -> None:
    assert check_batching({"max_batch_size": 8, "max_wait_ms": 1}) == Batching(8, 1.0)
    assert check_batching(None) is None
    for bad in ({"max_batch_size": 0}, {"max_wait_ms": -1}, {"size": 3}):
        with pytest.raises(InvalidInputError, match="batching"):
            check_batching(bad)
    assert check_deployment_name("fraud-eu.v2") == "fraud-eu.v2"
    for name in ("", "-x", "a/b", "x" * 200):
        with pytest.raises(InvalidInputError, match="deployment name"):
            check_deployment_name(name)


def test_spec_round_trips_as_a_dict() -> None:
    spec = DeploymentSpec(
        "fraud", 3, build_routes("f@p", canary="f:2=10%"), "svc", Batching(8, 1.0), "user", 5, "ann", "why"
    )
    assert DeploymentSpec.from_dict(spec.to_dict()) == spec
