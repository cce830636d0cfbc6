"""Reference profiles: column typing, round trips, sketches, and window checks equal to full-data ones."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import hypothesis.extra.numpy as hnp
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.core.errors import InvalidInputError
from shipyard.monitoring import stats
from shipyard.monitoring.profiles import (
    CategoricalProfile,
    NumericProfile,
    ReferenceProfile,
    build_profile,
    numeric_profile,
)
from shipyard.monitoring.sources import open_source


def frame(n: int = 500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": np.where(rng.random(n) < 0.05, np.nan, rng.gamma(2.0, 10.0, n)),
            "age": rng.integers(18, 90, n),
            "rating": rng.integers(1, 6, n),
            "city": rng.choice(["paris", "lyon", "nice"], n),
            "member": rng.random(n) < 0.4,
            "note": [f"free text {i}" for i in range(n)],
            "seen": pd.date_range("2024-01-01", periods=n, freq="min"),
            "few": rng.choice([0.5, 1.5], n),
        }
    )


def test_columns_are_typed_as_evidently_does() -> None:
    profile = build_profile(frame())
    kinds = {name: column.kind for name, column in profile.columns.items()}
    assert kinds == {
        "amount": "numeric",
        "age": "numeric",  # integers with more than 10 values
        "rating": "categorical",  # integers with at most 10 values
        "city": "categorical",
        "member": "categorical",
        "note": "categorical",
        "few": "numeric",
    }
    assert set(profile.skipped) == {"seen"}
    note = profile.column("note")
    assert isinstance(note, CategoricalProfile) and note.text
    assert not profile.column("city").text  # type: ignore[union-attr]
    amount = profile.column("amount")
    assert isinstance(amount, NumericProfile)
    assert amount.n_missing == int(frame()["amount"].isna().sum()) and amount.count + amount.n_missing == 500
    with pytest.raises(InvalidInputError, match="not profiled"):
        profile.column("seen")
    with pytest.raises(InvalidInputError, match="no column"):
        profile.column("nope")


def test_round_trip_is_exact_and_holds_no_pickle() -> None:
    profile = build_profile(frame(), source="people@2")
    data = profile.to_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():  # every member loads without pickle
            np.load(io.BytesIO(archive.read(name)), allow_pickle=False)
    again = ReferenceProfile.from_bytes(data)
    assert (again.n_rows, again.source, again.skipped, again.psi_bins) == (
        500,
        "people@2",
        profile.skipped,
        10,
    )
    for name, column in profile.columns.items():
        other = again.column(name)
        assert type(other) is type(column)
        for key, value in vars(column).items():
            if isinstance(value, np.ndarray):
                assert np.array_equal(value, getattr(other, key)), (name, key)
            elif isinstance(value, float) and np.isnan(value):
                assert np.isnan(getattr(other, key))
            else:
                assert value == getattr(other, key), (name, key)


def test_from_bytes_refuses_other_data() -> None:
    with pytest.raises(InvalidInputError, match="not a reference profile"):
        ReferenceProfile.from_bytes(b"not an npz file")


values = hnp.arrays(
    np.float64,
    st.integers(1, 400),
    elements=st.one_of(st.floats(-1e6, 1e6, allow_subnormal=False), st.integers(-3, 3).map(float)),
)


@settings(max_examples=60, deadline=None)
@given(values, values)
def test_a_window_checked_against_a_stored_profile_equals_the_full_data_check(
    reference: np.ndarray, current: np.ndarray
) -> None:
    stored = ReferenceProfile.from_bytes(build_profile(pd.DataFrame({"x": reference})).to_bytes()).column("x")
    for test in (stats.ks, stats.wasserstein, stats.jensen_shannon, stats.psi, stats.chi2):
        assert test(stored, current) == test(reference, current), test.__name__


def test_a_sketch_stands_for_a_large_reference() -> None:
    rng = np.random.default_rng(1)
    reference, current = rng.normal(size=50_000), rng.normal(0.05, size=5_000)
    sketched = numeric_profile("x", reference, max_sample=2_000)
    assert sketched.sketched and sketched.sample.size == 2_000 and sketched.count == 50_000
    assert sketched.mean == pytest.approx(reference.mean()) and sketched.std == pytest.approx(reference.std())
    exact = stats.ks(reference, current)
    approximate = stats.ks(sketched, current)
    assert approximate.statistic == pytest.approx(exact.statistic, abs=1e-3)
    assert stats.wasserstein(sketched, current).statistic == pytest.approx(
        stats.wasserstein(reference, current).statistic, abs=2e-3
    )
    assert stats.psi(sketched, current) == stats.psi(numeric_profile("x", reference), current)  # stored bins


def test_few_distinct_values_are_kept_as_counts() -> None:
    profile = numeric_profile("x", np.array([1.0, 2.0, 2.0, 3.0, np.nan]))
    assert profile.values is not None and profile.values.tolist() == [1.0, 2.0, 3.0]
    assert profile.value_counts is not None and profile.value_counts.tolist() == [1, 2, 1]
    again = ReferenceProfile.from_bytes(ReferenceProfile({"x": profile}, 5).to_bytes()).column("x")
    assert isinstance(again, NumericProfile) and again.sample.tolist() == [1.0, 2.0, 2.0, 3.0]


def test_parquet_sources_read_one_column_at_a_time(tmp_path: Path) -> None:
    data = frame(300)
    folder = tmp_path / "parts"
    folder.mkdir()
    pq.write_table(pa.Table.from_pandas(data.iloc[:100], preserve_index=False), folder / "a.parquet")
    pq.write_table(pa.Table.from_pandas(data.iloc[100:], preserve_index=False), folder / "b.parquet")
    source = open_source(folder)
    assert source.num_rows == 300 and source.names == list(data.columns)
    assert pa.types.is_dictionary(source.column("city").type)  # strings come straight as dictionaries
    from_parquet = build_profile(folder)
    from_frame = build_profile(data)
    assert from_parquet.column("city").counts.tolist() == from_frame.column("city").counts.tolist()  # type: ignore[union-attr]
    assert np.array_equal(from_parquet.column("amount").sample, from_frame.column("amount").sample)  # type: ignore[union-attr]
    with pytest.raises(InvalidInputError, match="no column"):
        source.column("nope")
    (tmp_path / "x.csv").write_text("a\n1\n")
    with pytest.raises(InvalidInputError, match="not a Parquet file"):
        open_source(tmp_path / "x.csv")
