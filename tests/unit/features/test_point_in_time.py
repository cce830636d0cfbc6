"""Point-in-time correctness against an independent reference: a plain loop over the rows.

For each entity row at time ``t`` the reference scans every source row of the same
entity, keeps those with ``event_time <= t``, takes the greatest by (event time,
created time with missing as oldest, row order) and keeps it only if its event time is
``> t - ttl``. Hypothesis draws duplicate timestamps, ties broken by the created
column or by row order, times exactly at the TTL edge and a microsecond either side,
entities without rows, rows created late, nanosecond sources, and entity timestamps
that are naive (UTC), in another zone, mixed zones in one column, or ISO strings.
"""

from __future__ import annotations

import math
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shipyard.features import offline
from shipyard.features.models import FeatureView
from shipyard.features.offline import Order
from shipyard.features.onlinestore.memory import MemoryOnlineStore
from shipyard.features.service import FeaturesService
from shipyard.features.store.memory import MemoryFeatureRegistryStore

from .conftest import USER

BASE = pd.Timestamp("2024-03-10 05:00", tz="UTC")  # New York changes to summer time at 07:00 UTC
STEP = pd.Timedelta(minutes=10)
TTLS = [None, STEP, 2 * STEP, 3 * STEP + pd.Timedelta(microseconds=1)]
ZONES = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-4))]

source_rows = st.lists(
    st.fixed_dictionaries(
        {
            "user_id": st.integers(0, 2),
            "slot": st.integers(0, 5),
            "jitter_ns": st.sampled_from([0, 0, 0, 1000, 999_000, 1]),
            "created": st.none() | st.integers(0, 4),
            "value": st.none() | st.floats(-100, 100, allow_nan=False),
            "count": st.none() | st.integers(-5, 5),
        }
    ),
    max_size=30,
)
entity_rows = st.lists(
    st.fixed_dictionaries(
        {
            "user_id": st.integers(0, 3),  # 3 has no feature rows
            "slot": st.integers(-1, 8),
            "delta_us": st.sampled_from([0, 0, 1, -1, 1000]),
            "zone": st.integers(0, len(ZONES) - 1),
        }
    ),
    min_size=1,
    max_size=30,
)


def source_frame(rows: list[dict[str, Any]], style: str, created: bool) -> pd.DataFrame:
    unit = "ns" if style == "aware_ns" else "us"
    times = [
        BASE
        + r["slot"] * STEP
        + pd.Timedelta(r["jitter_ns"] if unit == "ns" else r["jitter_ns"] // 1000 * 1000, "ns")
        for r in rows
    ]
    frame = pd.DataFrame(
        {
            "user_id": pd.array([r["user_id"] for r in rows], dtype="int64"),
            "event_time": pd.Series(times, dtype=f"datetime64[{unit}, UTC]"),
            "value": pd.array([r["value"] for r in rows], dtype="Float64"),
            "count": pd.array([r["count"] for r in rows], dtype="Int64"),
        }
    )
    if created:
        stamps = [None if r["created"] is None else BASE + r["created"] * STEP for r in rows]
        frame["created"] = pd.Series(stamps, dtype="datetime64[us, UTC]")
    if style == "naive_us":
        frame["event_time"] = frame["event_time"].dt.tz_localize(None)
    return frame


GRID = [
    {"user_id": u, "slot": s, "delta_us": 0, "zone": u % len(ZONES)} for u in range(4) for s in range(-1, 8)
]
"""Entity rows probing every user at every slot, added to the drawn ones."""


def entity_frame(rows: list[dict[str, Any]], style: str) -> tuple[pd.DataFrame, list[pd.Timestamp]]:
    rows = [*rows, *GRID]
    instants = [BASE + r["slot"] * STEP + pd.Timedelta(microseconds=r["delta_us"]) for r in rows]
    if style == "utc":
        column: Any = pd.Series(instants, dtype="datetime64[us, UTC]")
    elif style == "naive":
        column = pd.Series(instants, dtype="datetime64[us, UTC]").dt.tz_localize(None)
    elif style == "zone":
        column = pd.Series(instants, dtype="datetime64[us, UTC]").dt.tz_convert("America/New_York")
    elif style == "mixed":
        column = pd.Series(
            [
                t.to_pydatetime().replace(tzinfo=None)
                if r["zone"] == 0
                else t.to_pydatetime().astimezone(ZONES[r["zone"]])
                for t, r in zip(instants, rows, strict=True)
            ],
            dtype=object,
        )
    else:  # ISO strings with offsets
        column = pd.Series(
            [
                t.to_pydatetime().astimezone(ZONES[r["zone"]]).isoformat()
                for t, r in zip(instants, rows, strict=True)
            ]
        )
    frame = pd.DataFrame({"row": np.arange(len(rows)), "user_id": [r["user_id"] for r in rows], "ts": column})
    return frame, instants


def reference(
    source: pd.DataFrame, entity: pd.DataFrame, instants: list[pd.Timestamp], ttl: Any
) -> list[tuple[Any, Any]]:
    """The expected (value, count) of each entity row, by brute force."""
    events = [
        pd.Timestamp(t).tz_localize("UTC") if pd.Timestamp(t).tzinfo is None else pd.Timestamp(t)
        for t in source["event_time"]
    ]
    created = list(source["created"]) if "created" in source else [None] * len(source)
    expected = []
    for user, t in zip(entity["user_id"], instants, strict=True):
        best = None
        for i, event in enumerate(events):
            if source["user_id"].iloc[i] != user or event > t:
                continue
            made = created[i]
            order = (event, pd.Timestamp.min.tz_localize("UTC") if pd.isna(made) else made, i)
            if best is None or order > best[0]:
                best = (order, i)
        if best is None or (ttl is not None and not best[0][0] > t - ttl):
            expected.append((None, None))
            continue
        i = best[1]
        expected.append((source["value"].iloc[i], source["count"].iloc[i]))
    return expected


def _same(actual: Any, wanted: Any) -> bool:
    if wanted is None or pd.isna(wanted):
        return actual is None or bool(pd.isna(actual))
    return not pd.isna(actual) and math.isclose(float(actual), float(wanted))


TIE = [
    {"user_id": 1, "slot": 2, "jitter_ns": 0, "created": 3, "value": 1.0, "count": 1},
    {"user_id": 1, "slot": 2, "jitter_ns": 0, "created": 1, "value": 2.0, "count": 2},
]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(rows=TIE, entities=[GRID[0]], ttl=None, created=True, source_style="aware_us", entity_style="utc")
@given(
    rows=source_rows,
    entities=entity_rows,
    ttl=st.sampled_from(TTLS),
    created=st.booleans(),
    source_style=st.sampled_from(["aware_us", "naive_us", "aware_ns"]),
    entity_style=st.sampled_from(["utc", "naive", "zone", "mixed", "iso"]),
)
def test_historical_matches_a_brute_force_reference(
    rows: list[dict[str, Any]],
    entities: list[dict[str, Any]],
    ttl: Any,
    created: bool,
    source_style: str,
    entity_style: str,
) -> None:
    check_against_reference(rows, entities, ttl, created, source_style, entity_style)


@pytest.mark.parametrize("encoding", ["HUGEINT", "STRUCT"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=source_rows, ttl=st.sampled_from(TTLS), created=st.booleans())
def test_every_sort_key_encoding_gives_the_same_answers(
    encoding: str, rows: list[dict[str, Any]], ttl: Any, created: bool
) -> None:
    """Wide time ranges or many rows need a HUGEINT or STRUCT key instead of an UBIGINT one."""
    with mock.patch.object(Order, "sql_type", new=property(lambda self: encoding)):
        check_against_reference(rows, [GRID[0]], ttl, created, "aware_us", "utc")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=source_rows,
    entities=entity_rows,
    ttl=st.sampled_from(TTLS),
    created=st.booleans(),
    pass_rows=st.integers(1, 8),
)
def test_a_join_in_passes_gives_the_same_answers(
    rows: list[dict[str, Any]], entities: list[dict[str, Any]], ttl: Any, created: bool, pass_rows: int
) -> None:
    """A large source is joined in passes, a share of the entities each: here a pass per few rows."""
    with mock.patch.object(offline, "PASS_ROWS", pass_rows):
        check_against_reference(rows, entities, ttl, created, "aware_us", "utc")


def check_against_reference(
    rows: list[dict[str, Any]],
    entities: list[dict[str, Any]],
    ttl: Any,
    created: bool,
    source_style: str,
    entity_style: str,
) -> None:
    source = source_frame(rows, source_style, created)
    entity, instants = entity_frame(entities, entity_style)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.parquet"
        source.to_parquet(path, index=False)
        view = FeatureView(
            name="v",
            entities=[USER],
            source=str(path),
            timestamp_field="event_time",
            created_timestamp_field="created" if created else None,
            ttl=None if ttl is None else ttl.to_pytimedelta(),
            features={"value": "float", "count": "int"},
        )
        service = FeaturesService(MemoryFeatureRegistryStore(), None, MemoryOnlineStore())
        service.apply([view])
        result = service.historical(entity, ["v:value", "v:count"], timestamp_column="ts")
    assert list(result.columns) == ["row", "user_id", "ts", "value", "count"]
    assert result["row"].tolist() == list(range(len(entity)))
    pd.testing.assert_series_equal(result["ts"], entity["ts"])
    expected = reference(source, entity, instants, ttl)
    for position, (value, count) in enumerate(expected):
        got_value, got_count = result["value"].iloc[position], result["count"].iloc[position]
        assert _same(got_value, value), (position, got_value, value)
        assert _same(got_count, count), (position, got_count, count)


def test_ties_on_event_time_go_to_the_latest_created_then_the_last_row(tmp_path: Path) -> None:
    at = datetime(2024, 1, 1, tzinfo=UTC)
    source = pd.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 2],
            "event_time": [at] * 5,
            "created": [
                at + timedelta(hours=2),
                at + timedelta(hours=3),
                at + timedelta(hours=1),
                None,
                None,
            ],
            "value": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    path = tmp_path / "rows.parquet"
    source.to_parquet(path, index=False)
    view = FeatureView(
        name="v", entities=[USER], source=str(path), timestamp_field="event_time",
        created_timestamp_field="created", features={"value": "float"},
    )  # fmt: skip
    service = FeaturesService(MemoryFeatureRegistryStore(), None, MemoryOnlineStore())
    service.apply([view])
    entity = pd.DataFrame({"user_id": [1, 2], "event_timestamp": [at, at]})
    assert service.historical(entity, ["v:value"])["value"].tolist() == [2.0, 5.0]
    early = pd.DataFrame({"user_id": [1], "event_timestamp": [at - timedelta(microseconds=1)]})
    assert service.historical(early, ["v:value"])["value"].isna().all(), "no value from the future"


@pytest.mark.parametrize("ttl", [timedelta(hours=1), None])
def test_the_ttl_edge_is_exclusive(tmp_path: Path, ttl: timedelta | None) -> None:
    at = datetime(2024, 1, 1, tzinfo=UTC)
    path = tmp_path / "rows.parquet"
    pd.DataFrame({"user_id": [1], "event_time": [at], "value": [1.5]}).to_parquet(path, index=False)
    view = FeatureView(
        name="v",
        entities=[USER],
        source=str(path),
        timestamp_field="event_time",
        ttl=ttl,
        features={"value": "float"},
    )
    service = FeaturesService(MemoryFeatureRegistryStore(), None, MemoryOnlineStore())
    service.apply([view])
    hour, tick = timedelta(hours=1), timedelta(microseconds=1)
    times = [at, at + hour - tick, at + hour, at + hour + tick]
    entity = pd.DataFrame({"user_id": [1] * 4, "event_timestamp": times})
    values = service.historical(entity, ["v:value"])["value"].tolist()
    if ttl is None:
        assert values == [1.5] * 4
    else:
        assert values[:2] == [1.5, 1.5] and all(math.isnan(v) for v in values[2:])
