"""Offline retrieval: sources of every kind, as_of, lineage, and bad requests refused before any join."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa
import pytest

from shipyard.core.errors import InvalidInputError, NotFoundError
from shipyard.datasets.service import DatasetService
from shipyard.features import offline, retrieval
from shipyard.features.models import Entity, FeatureService, FeatureView
from shipyard.features.service import FeaturesService
from shipyard.tracking.service import TrackingService
from shipyard.tracking.store.memory import MemoryTrackingStore

from .conftest import T0, USER, stats_view, transactions, write_parquet

HOUR = timedelta(hours=1)


def entities(*rows: tuple[int, datetime]) -> pd.DataFrame:
    return pd.DataFrame({"user_id": [r[0] for r in rows], "event_timestamp": [r[1] for r in rows]})


def test_historical_keeps_the_frame_and_adds_typed_feature_columns(
    service: FeaturesService, tmp_path: Path
) -> None:
    service.apply([stats_view(transactions(tmp_path / "t.parquet"))])
    frame = entities((1, T0 + HOUR), (2, T0), (1, T0 + 3 * HOUR), (3, T0), (7, T0)).set_index(
        pd.Index([10, 11, 12, 13, 14])
    )
    frame["label"] = [True, False, True, False, True]
    categorical = frame.astype({"user_id": "category"})
    assert service.historical(categorical, ["user_stats:avg"])["avg"].iloc[0] == 1.0
    result = service.historical(frame, ["user_stats:count", "user_stats:avg"])
    assert list(result.columns) == ["user_id", "event_timestamp", "label", "count", "avg"]
    assert list(result.index) == [10, 11, 12, 13, 14]
    assert str(result["count"].dtype) == "Int64" and str(result["avg"].dtype) == "float64"
    assert result["count"].iloc[0] == 10 and result["count"].iloc[2] == 20
    assert result["avg"].iloc[0] == 1.0 and result["avg"].iloc[2] == 2.0
    assert result["count"].isna().tolist() == [False, True, False, True, True]  # 3: stale; 7: unknown
    arrow = service.historical(frame, ["user_stats:avg"], format="arrow")
    assert isinstance(arrow, pa.Table) and arrow.column_names == [
        "user_id",
        "event_timestamp",
        "label",
        "avg",
    ]
    named = service.historical(frame, ["user_stats"], full_feature_names=True)
    assert list(named.columns)[-2:] == ["user_stats__avg", "user_stats__count"]


def test_as_of_gives_every_entity_its_latest_values(service: FeaturesService, tmp_path: Path) -> None:
    service.apply([stats_view(transactions(tmp_path / "t.parquet"))])
    now = service.historical(features=["user_stats:avg", "user_stats:count"], as_of=T0 + HOUR)
    assert now.to_dict("list") == {"user_id": [1, 2], "avg": [1.0, 5.0], "count": [10, 50]}
    later = service.historical(
        features=["user_stats:avg"], as_of=(T0 + 2 * HOUR).replace(tzinfo=None)
    )  # naive: UTC
    assert later.to_dict("list") == {"user_id": [1, 2], "avg": [2.0, 5.0]}
    assert service.historical(features=["user_stats:avg"], as_of=T0 - 100 * HOUR).empty


def test_sources_datasets_queries_globs_and_csv_agree(
    service: FeaturesService, datasets: DatasetService, tmp_path: Path
) -> None:
    path = transactions(tmp_path / "data" / "t.parquet")
    version = datasets.add(path, "tx")
    rows = pd.read_parquet(path)
    write_parquet(tmp_path / "parts" / "a.parquet", rows.iloc[:2])
    write_parquet(tmp_path / "parts" / "b.parquet", rows.iloc[2:])
    rows.to_csv(tmp_path / "t.csv", index=False)
    frame = entities((1, T0 + 3 * HOUR), (2, T0 + HOUR), (3, T0), (1, T0))
    wanted = None
    for number, source in enumerate(
        [
            str(path),
            "tx",
            "tx@1",
            str(tmp_path / "parts" / "*.parquet"),
            "SELECT * FROM {tx@1} WHERE user_id > 0",
            f"SELECT * FROM '{tmp_path / 'parts'}/*.parquet'",
        ]
    ):
        view = FeatureView(
            name=f"v{number}", entities=[USER], source=source, timestamp_field="event_time",
            ttl=timedelta(hours=24), features={"avg": "float", "count": "int"},
        )  # fmt: skip
        service.apply([view])
        got = service.historical(frame, [f"v{number}:avg", f"v{number}:count"])[["avg", "count"]]
        if wanted is None:
            wanted = got
        pd.testing.assert_frame_equal(got, wanted, obj=source)
    assert version.ref == "tx@1"


def test_a_later_file_wins_a_tie_with_an_earlier_one(service: FeaturesService, tmp_path: Path) -> None:
    tie = pd.DataFrame({"user_id": [1], "event_time": [T0], "avg": [1.0], "count": [1]})
    write_parquet(tmp_path / "parts" / "a.parquet", tie)
    write_parquet(tmp_path / "parts" / "b.parquet", tie.assign(avg=2.0, count=2))
    service.apply([stats_view(tmp_path / "parts" / "*.parquet")])
    assert service.historical(entities((1, T0)), ["user_stats:avg"])["avg"].tolist() == [2.0]


def test_retrieval_in_a_run_records_view_and_dataset_versions(
    datasets: DatasetService, tmp_path: Path
) -> None:
    from shipyard.features.onlinestore.memory import MemoryOnlineStore
    from shipyard.features.store.memory import MemoryFeatureRegistryStore

    tracking = TrackingService(MemoryTrackingStore())
    service = FeaturesService(MemoryFeatureRegistryStore(), datasets, MemoryOnlineStore(), tracking=tracking)
    version = datasets.add(transactions(tmp_path / "t.parquet"), "tx")
    service.apply([stats_view("tx")])
    run = tracking.create_run("exp")
    service.historical(entities((1, T0)), ["user_stats:avg"], run_id=run.id)
    inputs = {(i.kind, i.ref, i.digest) for i in tracking.list_inputs(run.id)}
    view = service.get("user_stats")
    assert inputs == {("feature_view", "user_stats@1", view.digest), ("dataset", "tx@1", version.digest)}


def test_a_registered_service_names_the_features(service: FeaturesService, tmp_path: Path) -> None:
    service.apply(
        [stats_view(transactions(tmp_path / "t.parquet")), FeatureService("model_a", ["user_stats:count"])]
    )
    frame = entities((1, T0))
    assert service.historical(frame, service="model_a").columns[-1] == "count"
    assert service.historical(frame, FeatureService("inline", ["user_stats:avg"])).columns[-1] == "avg"
    with pytest.raises(NotFoundError, match="'model_a' is a feature service: pass service='model_a'"):
        service.historical(frame, ["model_a"])


# -- bad requests ----------------------------------------------------------------------
@pytest.fixture
def applied(service: FeaturesService, tmp_path: Path) -> FeaturesService:
    service.apply([stats_view(transactions(tmp_path / "t.parquet"))])
    return service


@pytest.mark.parametrize(
    ("frame", "features", "culprit"),
    [
        (pd.DataFrame({"event_timestamp": [T0]}), ["user_stats:avg"], "no join key column 'user_id'"),
        (pd.DataFrame({"user_id": [1]}), ["user_stats:avg"], "no timestamp column"),
        (entities((1, T0)), ["nope:avg"], "unknown feature view or on-demand feature 'nope'"),
        (entities((1, T0)), ["user_stats:nope"], "has no feature 'nope'"),
        (entities((1, T0)), ["user_stats@9:avg"], "'user_stats' version 9"),
        (entities((1, T0)), ["user_stats:bad name"], "invalid feature name"),
        (entities((1, T0)), [], "name the features"),
        (
            pd.DataFrame({"user_id": [1], "event_timestamp": ["not a time"]}),
            ["user_stats:avg"],
            "'event_timestamp' does not parse",
        ),
        (pd.DataFrame({"user_id": [1], "event_timestamp": [None]}), ["user_stats:avg"], "1 missing values"),
        (pd.DataFrame({"user_id": ["1"], "event_timestamp": [T0]}), ["user_stats:avg"], "join key 'user_id'"),
        (entities((1, T0)).assign(avg=1.0), ["user_stats:avg"], "already has a column 'avg'"),
    ],
)
def test_bad_requests_name_the_culprit(
    applied: FeaturesService, frame: pd.DataFrame, features: list[str], culprit: str
) -> None:
    with pytest.raises((InvalidInputError, NotFoundError), match=culprit):
        applied.historical(frame, features)


def test_other_bad_arguments(applied: FeaturesService) -> None:
    frame = entities((1, T0))
    with pytest.raises(InvalidInputError, match="unknown format 'excel'"):
        applied.historical(frame, ["user_stats:avg"], format="excel")
    with pytest.raises(InvalidInputError, match="either features"):
        applied.historical(frame, ["user_stats:avg"], service="s")
    with pytest.raises(InvalidInputError, match="either an entity frame or as_of"):
        applied.historical(features=["user_stats:avg"])
    with pytest.raises(InvalidInputError, match="no timestamp column 'when'"):
        applied.historical(frame, ["user_stats:avg"], timestamp_column="when")
    with pytest.raises(InvalidInputError, match="as_of must be a datetime"):
        applied.historical(features=["user_stats:avg"], as_of="yesterday-ish")


@pytest.mark.parametrize(
    ("column", "values", "culprit"),
    [
        ("count", ["a", "b"], "feature 'count' is declared 'int' but the column is VARCHAR"),
        ("count", [1.5, 2.5], "feature 'count' is declared 'int' but the column is DOUBLE"),
        ("event_time", ["x", "y"], "'event_time' is VARCHAR, not a timestamp"),
    ],
)
def test_a_source_that_does_not_fit_the_view_is_refused_before_any_join(
    service: FeaturesService, tmp_path: Path, column: str, values: list[object], culprit: str
) -> None:
    good = transactions(tmp_path / "good.parquet")
    rows = pd.DataFrame({"user_id": [1, 2], "event_time": [T0, T0], "avg": [1.0, 2.0], "count": [1, 2]})
    rows[column] = values
    bad = write_parquet(tmp_path / "bad.parquet", rows)
    service.apply([stats_view(good), dataclasses.replace(stats_view(bad), name="bad")])
    with (
        mock.patch.object(retrieval, "point_in_time", side_effect=AssertionError("joined before checking")),
        pytest.raises(InvalidInputError, match=f"feature view 'bad'.*{culprit}"),
    ):
        service.historical(entities((1, T0)), ["user_stats:avg", "bad:avg"], full_feature_names=True)


def test_a_source_missing_a_declared_column_is_named(service: FeaturesService, tmp_path: Path) -> None:
    path = write_parquet(
        tmp_path / "t.parquet", pd.DataFrame({"user_id": [1], "event_time": [T0], "avg": [1.0]})
    )
    service.apply([stats_view(path)])
    with pytest.raises(InvalidInputError, match=r"source .*t\.parquet.* has no column 'count'"):
        service.historical(entities((1, T0)), ["user_stats:avg"])
    service.apply([dataclasses.replace(stats_view(tmp_path / "missing.parquet"), name="gone")])
    with pytest.raises(InvalidInputError, match=r"feature view 'gone'.*no such file"):
        service.historical(entities((1, T0)), ["gone:avg"])


def test_as_of_needs_views_with_the_same_keys(service: FeaturesService, tmp_path: Path) -> None:
    path = transactions(tmp_path / "t.parquet")
    card = Entity("card", ["card_id"])
    other = FeatureView(
        name="by_card",
        entities=[card],
        source=str(path),
        timestamp_field="event_time",
        features={"avg": "float"},
    )
    service.apply([stats_view(path), other])
    with pytest.raises(InvalidInputError, match="same join keys"):
        service.historical(features=["user_stats:avg", "by_card:avg"], as_of=T0, full_feature_names=True)


def test_entity_timestamps_in_any_zone_mean_the_same_instant(
    service: FeaturesService, tmp_path: Path
) -> None:
    service.apply([stats_view(transactions(tmp_path / "t.parquet"))])
    instant = T0 + 2 * HOUR
    frame = pd.DataFrame(
        {
            "user_id": [1, 1, 1, 1],
            "event_timestamp": pd.Series(
                [
                    instant.replace(tzinfo=None),  # naive: UTC
                    instant.astimezone(ZoneInfo("Asia/Tokyo")),
                    (instant - timedelta(microseconds=1)).astimezone(UTC),
                    "2024-01-01T03:00:00+01:00",
                ],
                dtype=object,
            ),
        }
    )
    assert service.historical(frame, ["user_stats:avg"])["avg"].tolist() == [2.0, 2.0, 1.0, 2.0]


def test_a_ttl_of_a_thousand_years_works(service: FeaturesService, tmp_path: Path) -> None:
    service.apply([stats_view(transactions(tmp_path / "t.parquet"), ttl=timedelta(days=365_000))])
    frame = entities((1, T0), (3, T0))
    assert service.historical(frame, ["user_stats:avg"])["avg"].tolist() == [1.0, 9.0]
    assert service.historical(features=["user_stats:avg"], as_of=T0)["avg"].tolist() == [1.0, 9.0]


def test_a_join_in_passes_pairs_keys_as_the_join_does(service: FeaturesService, tmp_path: Path) -> None:
    """Each pass reads the source rows of its own entities with the join's equality: a float key
    finds integer rows, both parts of a two-part key count, a missing key matches nothing."""
    account = Entity(name="account", join_keys=["user_id", "country"])
    users, countries = [u for u in range(12) for _ in range(2)], ["fr", "de"] * 12
    source = pd.DataFrame(
        {
            "user_id": pd.array(users, dtype="int64"),
            "country": countries,
            "event_time": [T0 + (u % 3) * HOUR for u in users],
            "spend": [float(u * 10 + (c == "de")) for u, c in zip(users, countries, strict=True)],
        }
    )
    view = FeatureView(
        name="spend", entities=[account], source=str(write_parquet(tmp_path / "s.parquet", source)),
        timestamp_field="event_time", features={"spend": "float"},
    )  # fmt: skip
    service.apply([view])
    frame = pd.DataFrame(
        {
            "user_id": [float(u) for u in range(13)] + [None, 4.0],  # 12 has no rows
            "country": ["de" if u % 2 else "fr" for u in range(13)] + ["fr", None],
            "event_timestamp": [T0 + 2 * HOUR] * 15,
        }
    )
    whole = service.historical(frame, ["spend:spend"])["spend"].tolist()
    with mock.patch.object(offline, "PASS_ROWS", 1):
        assert offline.passes(len(source)) == offline.MAX_PASSES
        passes = service.historical(frame, ["spend:spend"])["spend"].tolist()
    expected = [u * 10 + u % 2 for u in range(12)]
    assert whole[:12] == expected and passes[:12] == expected
    assert all(pd.isna(v) for v in whole[12:]) and all(pd.isna(v) for v in passes[12:])
