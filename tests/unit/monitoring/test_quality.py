"""Data quality against the reference profile: null-rate jumps, out-of-range values, unseen categories."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import shipyard as sy
from shipyard.core.errors import InvalidInputError
from shipyard.monitoring.profiles import build_profile


def reference() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    amount = rng.uniform(0.0, 100.0, 1000)
    amount[:20] = np.nan  # 2% missing
    return pd.DataFrame(
        {"amount": amount, "city": rng.choice(["paris", "lyon"], 1000), "id": np.arange(1000)}
    )


def by_check(frame: pd.DataFrame) -> dict[tuple[str, str], pd.Series]:
    return {(row.column, row.check): row for row in frame.itertuples(index=False)}  # type: ignore[misc]


def test_a_window_like_the_reference_passes() -> None:
    ref = reference()
    frame = sy.monitoring.data_quality(ref, ref.iloc[:500])
    assert list(frame.columns) == ["column", "check", "reference", "current", "threshold", "failed", "detail"]
    assert not frame["failed"].any() and not frame.attrs["failed"]
    assert set(frame["check"]) == {"null_rate", "out_of_range", "unseen_categories"}


def test_null_rate_jump() -> None:
    ref = reference()
    current = ref.copy()
    current.loc[:199, "amount"] = np.nan  # 20% missing
    checks = by_check(sy.monitoring.data_quality(ref, current))
    row = checks[("amount", "null_rate")]
    assert row.reference == pytest.approx(0.02) and row.current == pytest.approx(0.2) and row.failed
    assert not by_check(sy.monitoring.data_quality(ref, current, max_null_increase=0.5))[
        ("amount", "null_rate")
    ].failed


def test_values_outside_the_reference_range() -> None:
    ref = reference()
    current = ref.iloc[:100].copy()
    current.loc[:4, "amount"] = [-1.0, 150.0, 200.0, np.inf, 50.0]
    row = by_check(sy.monitoring.data_quality(ref, current))[("amount", "out_of_range")]
    assert row.current == pytest.approx(4 / 85)  # 4 of the 85 non-missing values (inf included)
    assert row.failed and "1 below" in row.detail and "2 above" in row.detail and "1 infinite" in row.detail
    assert not by_check(sy.monitoring.data_quality(ref, current, max_out_of_range=0.1))[
        ("amount", "out_of_range")
    ].failed


def test_unseen_categories_and_missing_columns() -> None:
    ref = reference()
    current = ref.drop(columns=["id"]).iloc[:10].copy()
    current.loc[:2, "city"] = ["rome", "rome", "oslo"]
    checks = by_check(sy.monitoring.data_quality(build_profile(ref), current))
    unseen = checks[("city", "unseen_categories")]
    assert unseen.current == pytest.approx(0.3) and unseen.failed and "'rome', 'oslo'" in unseen.detail
    assert checks[("id", "missing_column")].failed
    with pytest.raises(InvalidInputError, match="no checkable column nope"):
        sy.monitoring.data_quality(ref, current, columns=["nope"])
    with pytest.raises(InvalidInputError, match="between 0 and 1"):
        sy.monitoring.data_quality(ref, current, max_unseen=2)
