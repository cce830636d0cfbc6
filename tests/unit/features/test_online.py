"""Materialisation and online reads: online values equal ``historical`` at the materialisation time.

The consistency property is checked on hypothesis-drawn rows with a feature of every
dtype (nulls, NaN, ties and rows after the materialisation time included), on the
in-memory and the SQLite online store, with "now" pinned to the materialisation time.
"""

from __future__ import annotations

import math
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipyard.core.errors import ConflictError, InvalidInputError
from shipyard.features.models import FeatureView, OnDemandFeature, on_demand
from shipyard.features.onlinestore.memory import MemoryOnlineStore
from shipyard.features.onlinestore.sqlite import SqliteOnlineStore
from shipyard.features.service import FeaturesService
from shipyard.features.store.memory import MemoryFeatureRegistryStore

from .conftest import T0, USER, Clock, stats_view, transactions, write_parquet

HOUR = timedelta(hours=1)
DTYPES = {"i": "int", "f": "float", "s": "string", "b": "bool", "t": "timestamp"}

feature_rows = st.lists(
    st.fixed_dictionaries(
        {
            "user_id": st.integers(0, 3),
            "slot": st.integers(0, 8),
            "i": st.none() | st.integers(-(2**62), 2**62),
            "f": st.none() | st.floats(allow_infinity=False) | st.just(math.nan),
            "s": st.none() | st.text(max_size=5),
            "b": st.none() | st.booleans(),
            "t": st.none() | st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)),
        }
    ),
    max_size=25,
)


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": pd.array([r["user_id"] for r in rows], dtype="int64"),
            "event_time": pd.Series([T0 + r["slot"] * HOUR for r in rows], dtype="datetime64[us, UTC]"),
            "i": pd.array([r["i"] for r in rows], dtype="Int64"),
            "f": pd.array([r["f"] for r in rows], dtype="float64"),
            "s": pd.Series([r["s"] for r in rows], dtype=object),
            "b": pd.array([r["b"] for r in rows], dtype="boolean"),
            "t": pd.Series(
                [None if r["t"] is None else r["t"].replace(tzinfo=UTC) for r in rows],
                dtype="datetime64[us, UTC]",
            ),
        }
    )


def _equal(online: Any, offline: Any) -> bool:
    if online is None or (isinstance(online, float) and math.isnan(online)):
        return offline is None or bool(pd.isna(offline))
    if isinstance(online, datetime):
        return pd.Timestamp(online) == pd.Timestamp(offline)
    if isinstance(online, float):
        return not pd.isna(offline) and online == float(offline)
    return bool(online == offline)


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=feature_rows, slot=st.integers(0, 9), ttl_hours=st.sampled_from([None, 1, 3]))
def test_online_values_equal_historical_at_the_materialisation_time(
    backend: str, rows: list[dict[str, Any]], slot: int, ttl_hours: int | None
) -> None:
    at = T0 + slot * HOUR
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.parquet"
        _frame(rows).to_parquet(path, index=False)
        online = (
            MemoryOnlineStore() if backend == "memory" else SqliteOnlineStore(f"sqlite:///{folder}/online.db")
        )
        service = FeaturesService(MemoryFeatureRegistryStore(), None, online, clock=Clock(at))
        view = FeatureView(
            name="v",
            entities=[USER],
            source=str(path),
            timestamp_field="event_time",
            ttl=None if ttl_hours is None else timedelta(hours=ttl_hours),
            features=DTYPES,
        )
        service.apply([view])
        (report,) = service.materialize(end=at)
        features = [f"v:{name}" for name in DTYPES]
        users = [0, 1, 2, 3, 4]
        served = service.online([{"user_id": u} for u in users], features)
        frame = pd.DataFrame({"user_id": users, "event_timestamp": [at] * len(users)})
        offline = service.historical(frame, features)
        service.close()
    assert served["user_id"] == users
    oldest = None if ttl_hours is None else at - ttl_hours * HOUR
    fresh = {
        r["user_id"]
        for r in rows
        if T0 + r["slot"] * HOUR <= at and (oldest is None or T0 + r["slot"] * HOUR > oldest)
    }
    assert report.rows == len(fresh)
    for name in DTYPES:
        for position, value in enumerate(served[name]):
            expected = offline[name].iloc[position]
            assert _equal(value, expected), (name, users[position], value, expected)


def test_online_respects_the_ttl_relative_to_now(
    service: FeaturesService, clock: Clock, tmp_path: Path
) -> None:
    service.apply([stats_view(transactions(tmp_path / "t.parquet"), ttl=timedelta(hours=24))])
    clock.set(T0 + 2 * HOUR)
    (report,) = service.materialize()
    assert (report.rows, report.end_ms) == (2, clock.ms)  # user 3's row is older than the ttl
    rows = [{"user_id": 1}, {"user_id": 2}, {"user_id": 3}, {"user_id": 9}]
    assert service.online(rows, ["user_stats:avg", "user_stats:count"]) == {
        "user_id": [1, 2, 3, 9],
        "avg": [2.0, 5.0, None, None],
        "count": [20, 50, None, None],
    }
    clock.set(T0 + HOUR + 24 * HOUR)  # user 2's row (T0 + 1h) is now exactly a ttl old
    assert service.online(rows, ["user_stats:avg"])["avg"] == [2.0, None, None, None]


def test_materialize_with_a_window_and_incrementally(
    service: FeaturesService, clock: Clock, tmp_path: Path
) -> None:
    parts = tmp_path / "parts"
    write_parquet(parts / "a.parquet", pd.read_parquet(transactions(tmp_path / "t.parquet")))
    service.apply([stats_view(parts / "*.parquet", ttl=None)])
    (windowed,) = service.materialize(start=T0 + HOUR, end=T0 + 2 * HOUR)
    assert windowed.rows == 2 and windowed.start_ms == int((T0 + HOUR).timestamp() * 1000)
    assert service.online([{"user_id": 1}, {"user_id": 3}], ["user_stats:avg"])["avg"] == [2.0, None]
    clock.set(T0 + 3 * HOUR)
    (first,) = service.materialize_incremental()  # from the end of the last run: nothing new
    assert (first.rows, first.start_ms) == (0, int((T0 + 2 * HOUR).timestamp() * 1000))
    late = pd.DataFrame({"user_id": [2], "event_time": [T0 + 4 * HOUR], "avg": [6.0], "count": [60]})
    write_parquet(parts / "b.parquet", late)
    clock.set(T0 + 5 * HOUR)
    (second,) = service.materialize_incremental()
    assert (second.rows, second.start_ms) == (1, int((T0 + 3 * HOUR).timestamp() * 1000))
    assert service.online([{"user_id": 2}, {"user_id": 3}], ["user_stats:avg"])["avg"] == [6.0, None]
    (everything,) = service.materialize()
    assert everything.rows == 3 and everything.start_ms is None
    assert service.online([{"user_id": 3}], ["user_stats:avg"])["avg"] == [9.0]
    (mark,) = service.watermarks()
    assert (mark.view, mark.end_ms, mark.rows) == ("user_stats", clock.ms, 3)
    with pytest.raises(InvalidInputError, match="start must not be after end"):
        service.materialize(start=T0 + 2 * HOUR, end=T0)


@on_demand(inputs=["user_stats:avg", "amount"], outputs={"ratio": "float", "big": "bool"})
def spend(frame: pd.DataFrame) -> dict[str, Any]:
    ratio = frame["amount"] / frame["avg"]
    return {"ratio": ratio, "big": ratio > 2}


def test_on_demand_features_run_the_same_function_offline_and_online(
    service: FeaturesService, clock: Clock, tmp_path: Path
) -> None:
    service.apply([stats_view(transactions(tmp_path / "t.parquet")), spend])
    clock.set(T0 + 2 * HOUR)
    service.materialize()
    requests = [{"user_id": 1, "amount": 5.0}, {"user_id": 2, "amount": 5.0}, {"user_id": 9, "amount": 1.0}]
    online = service.online(requests, ["spend:ratio", "spend"])
    assert online["ratio"] == [2.5, 1.0, None]
    assert online["big"] == [True, False, False]  # NaN > 2 is False in pandas, offline and online alike
    assert "avg" not in online, "an input nobody asked for is not returned"
    frame = pd.DataFrame(requests).assign(event_timestamp=T0 + 2 * HOUR)
    offline = service.historical(frame, ["spend:ratio", "spend:big"])
    assert offline["ratio"].tolist()[:2] == [2.5, 1.0] and math.isnan(offline["ratio"].iloc[2])
    assert offline["big"].tolist() == online["big"]
    with pytest.raises(InvalidInputError, match="no field 'amount'"):
        service.online([{"user_id": 1}], ["spend:ratio"])


def test_a_function_that_changed_since_apply_is_refused(tmp_path: Path, clock: Clock) -> None:
    view = stats_view(transactions(tmp_path / "t.parquet"))
    store = MemoryFeatureRegistryStore()
    FeaturesService(store, None, MemoryOnlineStore(), clock=clock).apply([view, spend])
    elsewhere = FeaturesService(store, None, MemoryOnlineStore(), clock=clock)  # imports module:qualname
    assert elsewhere.online([{"user_id": 1, "amount": 1.0}], ["spend:ratio"])["ratio"] == [None]
    edited = OnDemandFeature.from_spec(
        {**spend.spec(), "source": spend.source + "# edited\n"}, spend.function
    )
    other_store = MemoryFeatureRegistryStore()
    FeaturesService(other_store, None, MemoryOnlineStore()).apply([view, edited])
    stale = FeaturesService(other_store, None, MemoryOnlineStore(), clock=clock)
    with pytest.raises(ConflictError, match="differs from the applied definition"):
        stale.online([{"user_id": 1, "amount": 1.0}], ["spend:ratio"])


def test_online_rows_must_carry_the_join_keys(service: FeaturesService, tmp_path: Path) -> None:
    service.apply([stats_view(transactions(tmp_path / "t.parquet"))])
    with pytest.raises(InvalidInputError, match="no join key 'user_id'"):
        service.online([{"id": 1}], ["user_stats:avg"])
    with pytest.raises(InvalidInputError, match="entity_rows must be a list"):
        service.online({"user_id": 1}, ["user_stats:avg"])  # type: ignore[arg-type]


plain_values = st.none() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)


@given(
    ints=st.lists(st.none() | st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=20),
    floats=st.lists(st.none() | st.floats(), min_size=20, max_size=20),
    texts=st.lists(st.none() | st.text(), min_size=20, max_size=20),
    flags=st.lists(st.none() | st.booleans(), min_size=20, max_size=20),
)
def test_the_bulk_packing_writes_what_pack_writes(
    ints: list[int | None], floats: list[float | None], texts: list[str | None], flags: list[bool | None]
) -> None:
    """Materialisation packs plain rows itself; the bytes must be :func:`pack`'s exactly."""
    import pyarrow as pa

    from shipyard.features.materialization import _packed
    from shipyard.features.onlinestore.codec import pack

    n = len(ints)
    chunk = pa.table(
        {
            "i": pa.array(ints, pa.int64()),
            "f": pa.array(floats[:n], pa.float64()),
            "s": pa.array(texts[:n], pa.string()),
            "b": pa.array(flags[:n], pa.bool_()),
        }
    )
    names = ("i", "f", "s", "b")
    times = list(range(1_700_000_000_000, 1_700_000_000_000 + n))
    rows = zip(ints, floats[:n], texts[:n], flags[:n], strict=True)
    assert _packed(chunk, names, times) == [
        pack(dict(zip(names, r, strict=True)), t) for r, t in zip(rows, times, strict=True)
    ]
