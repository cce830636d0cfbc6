"""Definitions: checked when built, versioned when applied, refused when a change breaks users."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from shipyard.core.errors import ConflictError, InvalidInputError, NotFoundError
from shipyard.features.models import (
    Entity,
    FeatureService,
    FeatureView,
    OnDemandFeature,
    from_spec,
    on_demand,
    spec_digest,
)
from shipyard.features.service import FeaturesService

from .conftest import USER, stats_view, transactions


@on_demand(inputs=["user_stats:avg", "amount"], outputs={"ratio": "float"})
def ratio(frame):  # type: ignore[no-untyped-def]
    return {"ratio": frame["amount"] / frame["avg"]}


# -- building ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("build", "culprit"),
    [
        (lambda: Entity("user", []), "needs at least one join key"),
        (lambda: Entity("bad name!", ["id"]), "invalid entity name 'bad name!'"),
        (lambda: stats_view("x.parquet", ttl=timedelta(0)), "ttl must be positive"),
        (lambda: stats_view("x.parquet", ttl=timedelta(days=-1)), "'user_stats': ttl must be positive"),
        (lambda: stats_view("x.parquet", ttl=30), "ttl must be a datetime.timedelta"),  # type: ignore[arg-type]
        (lambda: stats_view("x.parquet", ttl=timedelta.max), "ttl must be at most 365000 days"),
        (
            lambda: FeatureView(
                name="v", entities=[USER], source="x.parquet", timestamp_field="t", features={"a": "decimal"}
            ),
            "feature 'a' has dtype 'decimal'",
        ),
        (
            lambda: FeatureView(
                name="v", entities=[USER], source="x.parquet", timestamp_field="t", features={}
            ),
            "declare at least one",
        ),
        (
            lambda: FeatureView(
                name="v",
                entities=[USER],
                source="x.parquet",
                timestamp_field="t",
                features={"user_id": "int"},
            ),
            "'user_id' is also a join key",
        ),
        (
            lambda: FeatureView(
                name="v", entities=[], source="x.parquet", timestamp_field="t", features={"a": "int"}
            ),
            "entities must be a non-empty list",
        ),
        (
            lambda: FeatureView(
                name="v", entities=[USER], source="not a source", timestamp_field="t", features={"a": "int"}
            ),
            "is neither a dataset reference",
        ),
        (lambda: on_demand(inputs=[], outputs={"x": "int"})(len), "list its inputs"),
        (lambda: on_demand(inputs=["v:a", "w:a"], outputs={"x": "int"})(len), "same column name"),
        (lambda: on_demand(inputs=["x"], outputs={"x": "int"})(len), "both an input and an output"),
        (lambda: FeatureService("s", []), "list at least one feature"),
        (lambda: FeatureService("s", ["v:bad-name"]), "invalid feature name"),
    ],
)
def test_bad_definitions_name_the_culprit(build, culprit: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInputError, match=culprit.replace("(", r"\(").replace(")", r"\)")):
        build()


def test_specs_round_trip_and_digests_ignore_nothing_that_matters(tmp_path: Path) -> None:
    view = stats_view(tmp_path / "t.parquet")
    assert FeatureView.from_spec(view.spec()) == view
    assert from_spec("entity", USER.spec()) == USER
    service = FeatureService("svc", [view, ratio, "user_stats:avg"])
    assert service.features == ("user_stats:avg", "user_stats:count", "ratio:ratio")
    assert from_spec("feature_service", service.spec()) == service
    again = from_spec("on_demand", ratio.spec())
    assert isinstance(again, OnDemandFeature) and again == ratio and again.function is None
    assert spec_digest(view.spec()) != spec_digest(
        stats_view(tmp_path / "t.parquet", ttl=timedelta(hours=1)).spec()
    )
    assert ratio.request_inputs == ("amount",) and ratio.feature_inputs == ("user_stats:avg",)
    assert 'frame["amount"] / frame["avg"]' in ratio.source and ratio.qualname == "ratio"


def test_a_relative_path_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert stats_view("data/t.parquet").source == str(tmp_path / "data" / "t.parquet")
    assert stats_view("transactions@3").source == "transactions@3"
    query = "SELECT * FROM {transactions@3}"
    assert stats_view(query).source == query


# -- applying ------------------------------------------------------------------------
def test_apply_records_versions_and_keeps_old_ones_readable(service: FeaturesService, tmp_path: Path) -> None:
    source = transactions(tmp_path / "t.parquet")
    first = service.apply([stats_view(source), ratio])
    assert [(c.kind, c.name, c.version, c.status) for c in first] == [
        ("entity", "user", 1, "created"),
        ("feature_view", "user_stats", 1, "created"),
        ("on_demand", "ratio", 1, "created"),
    ]
    assert [c.status for c in service.apply([stats_view(source), ratio])] == ["unchanged"] * 3
    changed = stats_view(source, ttl=timedelta(hours=2), description="now with a shorter ttl")
    (_, view_change) = service.apply([changed])
    assert (view_change.version, view_change.status) == (2, "updated")
    assert service.get("user_stats").version == 2
    old = service.get("user_stats@1").to_object()
    assert isinstance(old, FeatureView) and old.ttl == timedelta(hours=24)
    assert [d.version for d in service.versions("user_stats")] == [1, 2]
    assert [(d.kind, d.name) for d in service.list()] == [
        ("entity", "user"),
        ("feature_view", "user_stats"),
        ("on_demand", "ratio"),
    ]
    with pytest.raises(NotFoundError, match="no version 7"):
        service.get("user_stats@7")
    with pytest.raises(NotFoundError, match="'nothing' not found"):
        service.get("nothing")


def test_an_incompatible_change_needs_force(service: FeaturesService, tmp_path: Path) -> None:
    source = transactions(tmp_path / "t.parquet")
    service.apply([stats_view(source)])
    retyped = FeatureView(
        name="user_stats",
        entities=[USER],
        source=str(source),
        timestamp_field="event_time",
        ttl=timedelta(hours=24),
        features={"avg": "float", "count": "float"},
    )
    with pytest.raises(
        ConflictError, match=r"feature view 'user_stats': 'count' changes type from 'int' to 'float'"
    ):
        service.apply([retyped])
    assert service.get("user_stats").version == 1, "nothing is written when a change is refused"
    rekeyed = Entity("user", ["user_id", "country"])
    with pytest.raises(ConflictError, match="join keys change"):
        service.apply([rekeyed])
    (change,) = service.apply([retyped], force=True)[1:]
    assert (change.version, change.status) == (2, "updated") and "changes type" in change.notes[0]
    assert service.get("user_stats@1").spec["features"][1] == ["count", "int"]


def test_apply_refuses_unknown_references_and_name_clashes(service: FeaturesService, tmp_path: Path) -> None:
    source = transactions(tmp_path / "t.parquet")
    with pytest.raises(
        InvalidInputError, match=r"feature service 'svc'.*unknown feature view or on-demand feature 'nope'"
    ):
        service.apply([FeatureService("svc", ["nope:x"])])
    service.apply([stats_view(source)])
    with pytest.raises(InvalidInputError, match=r"feature service 'svc'.*has no feature 'missing'"):
        service.apply([FeatureService("svc", ["user_stats:missing"])])
    clash = on_demand(inputs=["user_stats:avg"], outputs={"x": "float"}, name="user_stats")(len)
    with pytest.raises(InvalidInputError, match="a feature view has that name"):
        service.apply([clash])
    with pytest.raises(InvalidInputError, match="two different entity definitions are named 'user'"):
        service.apply([USER, Entity("user", ["other_id"])])
    with pytest.raises(InvalidInputError, match="cannot apply 42"):
        service.apply([42])  # type: ignore[list-item]
    query = stats_view("SELECT 1; COPY (SELECT 1) TO 'x.csv'")
    with pytest.raises(InvalidInputError, match="exactly one SELECT statement"):
        service.apply([query])
    assert [c.status for c in service.apply([FeatureService("svc", ["user_stats:avg"])])] == ["created"]
