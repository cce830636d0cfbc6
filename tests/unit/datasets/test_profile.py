"""Column profiles against plain pandas computations of the same statistics."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.core.errors import InvalidInputError
from shipyard.datasets import profile as profile_module
from shipyard.datasets.profile import QUANTILES, profile_delta, profile_files, schema_changes

# ------------------------------------------------------------------ the oracle


def close(a: float | None, b: float, scale: float) -> bool:
    assert a is not None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9 * max(scale, 1.0))


def expected_top(values: pd.Series) -> list[dict[str, Any]]:
    """The five most frequent values, ties broken by their text, like the profile."""
    counts = [(v.item() if hasattr(v, "item") else v, int(n)) for v, n in values.value_counts().items()]
    counts.sort(key=lambda pair: (-pair[1], str(pair[0])))
    return [{"value": v, "count": n} for v, n in counts[:5]]


def check_numeric(stats: dict[str, Any], series: pd.Series) -> None:
    values = series.dropna().astype("float64")
    assert stats["count"] == len(values)
    assert stats["null_count"] == int(series.isna().sum())
    if values.empty:
        assert stats["mean"] is None and stats["min"] is None and "histogram" not in stats
        return
    scale = float(values.abs().max())
    assert stats["min"] == values.min() and stats["max"] == values.max()
    assert close(stats["mean"], float(values.mean()), scale)
    if len(values) > 1:
        assert close(stats["std"], float(values.std()), scale)
    else:
        assert stats["std"] is None
    for key, q in QUANTILES.items():  # exact below QUANTILE_SAMPLE values
        assert close(stats[key], float(values.quantile(q)), scale)
    assert stats["distinct_count"] == values.nunique()  # exact below QUANTILE_SAMPLE values
    histogram = stats["histogram"]
    if values.min() < values.max():
        edges = np.linspace(values.min(), values.max(), 11)
        assert histogram["edges"] == pytest.approx(edges.tolist(), rel=0, abs=0)
        assert histogram["counts"] == np.histogram(values, bins=edges)[0].tolist()
    else:
        assert histogram == {"edges": [values.min()] * 2, "counts": [len(values)]}
    if values.nunique() <= 10:  # low cardinality (estimated: HyperLogLog) gets top values
        assert "top_values" in stats
    if "top_values" in stats:
        assert stats["top_values"] == expected_top(values)


def check_column(stats: dict[str, Any], series: pd.Series, duck_type: str) -> None:
    if duck_type in ("BIGINT", "DOUBLE"):
        check_numeric(stats, series)
        return
    assert stats["count"] == int(series.notna().sum())
    assert stats["null_count"] == int(series.isna().sum())
    if series.notna().any():
        assert stats["top_values"] == expected_top(series.dropna())
    if duck_type == "VARCHAR" and series.notna().any():
        assert stats["distinct_count"] == series.nunique()


# ------------------------------------------------------------------ hypothesis


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 40))

    def column(elements: st.SearchStrategy[Any]) -> list[Any]:
        return draw(st.lists(st.one_of(st.none(), elements), min_size=n, max_size=n))

    number = st.one_of(st.floats(-1e6, 1e6, allow_subnormal=False), st.integers(-3, 3).map(float))
    return pd.DataFrame(
        {
            "i": pd.array(column(st.integers(-1000, 1000)), dtype="Int64"),
            "f": pd.array(column(number), dtype="float64"),
            "s": pd.array(column(st.text(alphabet="abcxyz", min_size=1, max_size=3)), dtype="object"),
            "b": pd.array(column(st.booleans()), dtype="boolean"),
        }
    )


def profile_one(name: str, path: Path) -> tuple[list[list[str]], int | None, dict[str, Any]]:
    schemas, rows, profiles = profile_files([(name, path)])
    json.dumps([schemas, rows, profiles], allow_nan=False)  # plain JSON, no NaN
    return schemas[name], rows, profiles[name]


@settings(max_examples=60, deadline=None)
@given(frames())
def test_parquet_profile_matches_pandas(frame: pd.DataFrame) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.parquet"
        frame.to_parquet(path, index=False)
        schema, rows, profile = profile_one("data.parquet", path)
    assert rows == len(frame)
    expected = [["i", "BIGINT"], ["f", "DOUBLE"], ["s", "VARCHAR"], ["b", "BOOLEAN"]]
    if frame["s"].isna().all():  # pandas writes an all-None object column with Arrow's null type
        expected[2] = ["s", '"NULL"']
    assert schema == expected
    for name, duck_type in schema:
        check_column(profile[name], frame[name], duck_type)


@settings(max_examples=60, deadline=None)
@given(frames())
def test_csv_profile_matches_pandas(frame: pd.DataFrame) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "blob"  # a content-addressed blob: the logical name gives the format
        frame.to_csv(path, index=False)
        schema, rows, profile = profile_one("data/frame.csv", path)
    assert rows == len(frame)
    for name, duck_type in schema:
        if frame[name].isna().all():  # an empty CSV column has no type to detect
            assert profile[name]["null_count"] == len(frame)
            continue
        assert duck_type == {"i": "BIGINT", "f": "DOUBLE", "s": "VARCHAR", "b": "BOOLEAN"}[name]
        check_column(profile[name], frame[name], duck_type)


# -------------------------------------------------------------- examples


def test_large_columns_sample_their_quantiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profile_module, "QUANTILE_SAMPLE", 2_000)
    values = np.random.default_rng(0).normal(size=20_000)
    pq.write_table(pa.table({"x": values}), tmp_path / "x.parquet")
    _, _, profile = profile_one("x.parquet", tmp_path / "x.parquet")
    stats = profile["x"]
    assert stats["mean"] == pytest.approx(values.mean(), rel=1e-9)  # the rest stays exact
    assert stats["distinct_count"] == pytest.approx(len(values), rel=0.15)  # HyperLogLog
    for key, q in QUANTILES.items():
        rank = float(np.mean(values <= stats[key]))
        assert abs(rank - q) < 0.03, (key, rank)


def test_high_cardinality_strings_get_exact_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profile_module, "EXACT_TOP_CARDINALITY", 10)
    values = ["hot"] * 300 + ["warm"] * 200 + [f"id{i}" for i in range(500)]
    pq.write_table(pa.table({"s": values}), tmp_path / "s.parquet")
    _, _, profile = profile_one("s.parquet", tmp_path / "s.parquet")
    top = profile["s"]["top_values"]
    assert top[:2] == [{"value": "hot", "count": 300}, {"value": "warm", "count": 200}]
    assert all(entry["count"] == 1 for entry in top[2:])


def test_nan_and_infinity(tmp_path: Path) -> None:
    table = pa.table(
        {
            "nan": pa.array(np.array([1.0, np.nan, 3.0, 5.0]), from_pandas=False),
            "inf": pa.array([1.0, float("inf"), 2.0, None]),
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    _, _, profile = profile_one("t.parquet", tmp_path / "t.parquet")
    nan = profile["nan"]
    assert (nan["count"], nan["nan_count"], nan["null_count"]) == (3, 1, 0)
    assert (nan["min"], nan["max"], nan["mean"], nan["q50"]) == (1.0, 5.0, 3.0, 3.0)
    assert nan["histogram"]["counts"] == [1, 0, 0, 0, 0, 1, 0, 0, 0, 1]
    inf = profile["inf"]
    assert (inf["count"], inf["null_count"], inf["min"], inf["max"], inf["mean"]) == (3, 1, 1.0, None, None)
    assert "histogram" not in inf


def test_dates_decimals_lists_and_constants(tmp_path: Path) -> None:
    stamp = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    table = pa.table(
        {
            "day": pa.array([dt.date(2024, 1, 2), dt.date(2023, 12, 31), None]),
            "at": pa.array([stamp, None, stamp], type=pa.timestamp("us", tz="+02:00")),
            "naive": pa.array([dt.datetime(2024, 1, 1, 8)] * 3, type=pa.timestamp("ns")),
            "price": pa.array(
                [decimal.Decimal("1.50"), decimal.Decimal("2.25"), None], type=pa.decimal128(6, 2)
            ),
            "tags": pa.array([[1, 2], [], None]),
            "const": pa.array([7, 7, 7]),
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    schema, rows, profile = profile_one("t.parquet", tmp_path / "t.parquet")
    assert rows == 3 and dict((c, t) for c, t in schema)["price"] == "DECIMAL(6,2)"
    assert (profile["day"]["min"], profile["day"]["max"]) == ("2023-12-31", "2024-01-02")
    assert profile["at"]["min"] == "2024-05-01T10:30:00+00:00"
    assert dt.datetime.fromisoformat(profile["at"]["min"]) == stamp
    assert profile["naive"]["max"] == "2024-01-01T08:00:00"
    assert (profile["price"]["min"], profile["price"]["max"], profile["price"]["mean"]) == (1.5, 2.25, 1.875)
    assert profile["tags"] == {"count": 2, "null_count": 1}
    const = profile["const"]
    assert (const["std"], const["histogram"]) == (0.0, {"edges": [7.0, 7.0], "counts": [3]})
    assert const["top_values"] == [{"value": 7, "count": 3}]


def test_profile_files_skips_other_files_and_sums_rows(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("x,y\n1,a\n2,b\n")
    pq.write_table(pa.table({"x": [3, 4, 5]}), tmp_path / "b")
    (tmp_path / "c").write_text("not a table")
    files = [("a.csv", tmp_path / "a"), ("sub/b.parquet", tmp_path / "b"), ("notes.txt", tmp_path / "c")]
    schemas, rows, profiles = profile_files(files)
    assert rows == 5
    assert schemas == {"a.csv": [["x", "BIGINT"], ["y", "VARCHAR"]], "sub/b.parquet": [["x", "BIGINT"]]}
    assert set(profiles) == {"a.csv", "sub/b.parquet"}
    assert profile_files([("notes.txt", tmp_path / "c")]) == ({}, None, {})
    assert profile_files([]) == ({}, None, {})


def test_an_empty_table(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("x,y\n")
    _, rows, profiles = profile_files([("h.csv", tmp_path / "h.csv")])
    assert rows == 0
    assert profiles["h.csv"]["x"] == {"count": 0, "null_count": 0, "distinct_count": 0}


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("bad/truncated.parquet", None, "magic bytes"),
        ("bad/ragged.csv", b"a,b,c\n1,2,3\n4,5\n6,7,8\n", "different numbers of fields"),
        ("bad/events.jsonl", b'{"a": 1}\n{"a": \n', "Malformed JSON"),
        ("bad/empty.parquet", b"", "'bad/empty.parquet' too small"),
    ],
)
def test_unreadable_files_name_the_logical_path(
    tmp_path: Path, name: str, content: bytes | None, words: str
) -> None:
    blob = tmp_path / "blob"
    if content is None:
        pq.write_table(pa.table({"a": list(range(1000))}), blob)
        content = blob.read_bytes()[:-100]
    blob.write_bytes(content)
    good = tmp_path / "good"
    good.write_text("a\n1\n")
    with pytest.raises(InvalidInputError, match=words) as caught:
        profile_files([("good.csv", good), (name, blob)])
    assert f"cannot read {name}:" in str(caught.value)
    assert caught.value.details["path"] == name


def test_a_ragged_row_late_in_a_csv_fails_the_profile(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    path.write_text("a,b\n" + "1,2\n" * 30_000 + "3\n")
    with pytest.raises(InvalidInputError, match=r"cannot read late\.csv: CSV Error on Line: 30002"):
        profile_files([("late.csv", path)])


# --------------------------------------------------------- deltas and schemas


def test_profile_delta() -> None:
    a = {"x": {"mean": 2.0, "max": 0, "top_values": [], "flag": True}, "gone": {"mean": 1.0}}
    b = {"x": {"mean": 3.0, "max": 4, "top_values": [], "flag": False, "std": 1.0}, "new": {"mean": 1.0}}
    assert profile_delta(a, b) == {
        "x": {
            "max": {"a": 0, "b": 4, "change": 4, "relative_change": None},
            "mean": {"a": 2.0, "b": 3.0, "change": 1.0, "relative_change": 0.5},
        }
    }
    assert profile_delta(a, a) == {
        "gone": {"mean": {"a": 1.0, "b": 1.0, "change": 0.0, "relative_change": 0.0}},
        "x": {
            "max": {"a": 0, "b": 0, "change": 0, "relative_change": None},
            "mean": {"a": 2.0, "b": 2.0, "change": 0.0, "relative_change": 0.0},
        },
    }
    assert profile_delta({"x": {"mean": None}}, {"x": {"mean": 1.0}}) == {}


def test_schema_changes() -> None:
    a = [["id", "BIGINT"], ["x", "DOUBLE"], ["same", "VARCHAR"]]
    b = [["id", "VARCHAR"], ["same", "VARCHAR"], ["y", "DATE"]]
    assert schema_changes(a, b) == {
        "added": [{"column": "y", "type": "DATE"}],
        "removed": [{"column": "x", "type": "DOUBLE"}],
        "type_changed": [{"column": "id", "from": "BIGINT", "to": "VARCHAR"}],
    }
    assert schema_changes(a, a) == {"added": [], "removed": [], "type_changed": []}
