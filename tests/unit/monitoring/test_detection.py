"""sy.monitoring.drift: Evidently's default rules, per-column tests and thresholds, the share rule."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import shipyard as sy
from shipyard.core.errors import InvalidInputError
from shipyard.monitoring import stats
from shipyard.monitoring.detection import choose_test, detect_drift, resolve_test
from shipyard.monitoring.inputs import SourceProfiles, StoredProfiles
from shipyard.monitoring.profiles import build_profile, profile_values
from shipyard.monitoring.sources import open_source

COLUMNS = ["column", "test", "statistic", "p_value", "threshold", "drifted"]


def data(n: int, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1.0, n),
            "y": rng.exponential(1.0, n),
            "few": rng.choice([1.0, 2.0, 3.0, 4.0], n),
            "two": rng.choice([0.0, 1.0], n),
            "city": rng.choice(["paris", "lyon", "nice", "rome"], n),
            "flag": rng.random(n) < 0.5,
        }
    )


def chosen_tests(frame: pd.DataFrame) -> dict[str, str]:
    return dict(zip(frame["column"], frame["test"], strict=True))


def test_default_tests_for_small_references_are_statistical_tests() -> None:
    frame = sy.monitoring.drift(data(800), data(300, seed=1))
    assert list(frame.columns) == COLUMNS
    assert chosen_tests(frame) == {
        "x": "ks",
        "y": "ks",
        "few": "chi2",  # numeric with 3..5 values
        "two": "z_proportion",  # at most 2 values
        "city": "chi2",
        "flag": "z_proportion",
    }
    assert frame["p_value"].notna().all() and (frame["threshold"] == 0.05).all()


def test_default_tests_for_large_references_are_distances() -> None:
    frame = sy.monitoring.drift(data(1001), data(1001, seed=1))
    assert chosen_tests(frame) == {
        "x": "wasserstein",
        "y": "wasserstein",
        "few": "jensen_shannon",
        "two": "jensen_shannon",
        "city": "jensen_shannon",
        "flag": "jensen_shannon",
    }
    assert frame["p_value"].isna().all() and (frame["threshold"] == 0.1).all()


def test_the_rule_counts_distinct_values_on_both_sides() -> None:
    reference = profile_values([1.0, 2.0] * 300)
    assert choose_test(reference, profile_values([1.0, 2.0])) == "z_proportion"
    assert choose_test(reference, profile_values([1.0, 2.0, 3.0])) == "chi2"
    assert choose_test(reference, profile_values([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])) == "ks"
    assert choose_test(profile_values([1.0, 2.0] * 600), profile_values([3.0] * 5)) == "jensen_shannon"


def test_statistics_are_the_stats_functions() -> None:
    reference, current = data(800), data(300, shift=0.3, seed=1)
    frame = sy.monitoring.drift(reference, current).set_index("column")
    assert frame.loc["x", "p_value"] == stats.ks(reference["x"], current["x"]).p_value
    assert frame.loc["city", "statistic"] == stats.chi2(reference["city"], current["city"]).statistic
    assert frame.loc["x", "drifted"]  # a 0.3 sd shift over 300 values


def test_per_column_tests_and_thresholds() -> None:
    reference, current = data(2000), data(2000, shift=0.08, seed=1)
    frame = sy.monitoring.drift(
        reference,
        current,
        tests={"x": "psi", "city": "chisquare", "flag": "z"},  # Evidently's names are accepted
        thresholds={"x": 0.0, "y": 0.5, "city": 1.0},
    ).set_index("column")
    assert (
        frame.loc["x", "test"] == "psi" and frame.loc["x", "threshold"] == 0.0 and frame.loc["x", "drifted"]
    )
    assert frame.loc["y", "test"] == "wasserstein" and frame.loc["y", "threshold"] == 0.5
    assert frame.loc["city", "test"] == "chi2" and frame.loc["city", "drifted"]  # p < 1 always
    assert frame.loc["flag", "test"] == "z_proportion" and frame.loc["flag", "threshold"] == 0.05


def test_one_test_and_one_threshold_for_every_column() -> None:
    reference, current = data(500), data(500, seed=1)
    frame = sy.monitoring.drift(reference, current, columns=["x", "y"], tests="wasserstein", thresholds=1e-9)
    assert list(frame["test"]) == ["wasserstein"] * 2 and frame["drifted"].all()
    with pytest.raises(InvalidInputError, match="ks needs a numeric column"):
        sy.monitoring.drift(reference, current, tests="ks")


def test_decisions_follow_evidentlys_comparisons() -> None:
    reference, current = data(800), data(300, seed=1)
    frame = sy.monitoring.drift(reference, current, columns=["x", "city"]).set_index("column")
    p_ks, p_chi2 = frame.loc["x", "p_value"], frame.loc["city", "p_value"]
    at = sy.monitoring.drift(
        reference, current, columns=["x", "city"], thresholds={"x": p_ks, "city": p_chi2}
    )
    assert list(at["drifted"]) == [True, False]  # ks: p <= threshold; chi2: p < threshold
    w = sy.monitoring.drift(reference, current, columns=["y"], tests="wasserstein")["statistic"][0]
    assert sy.monitoring.drift(reference, current, columns=["y"], tests="wasserstein", thresholds=w)[
        "drifted"
    ][0]


def test_the_table_drifts_when_the_share_is_reached() -> None:
    reference = data(3000)
    current = reference.copy()
    current["x"] = current["x"] + 1.0
    current["y"] = current["y"] * 3
    current["city"] = "paris"
    frame = sy.monitoring.drift(reference, current)
    assert frame.attrs["n_drifted"] == 3 and frame.attrs["n_columns"] == 6
    assert frame.attrs["share_drifted"] == 0.5 and frame.attrs["drifted"]  # 3 of 6 >= 0.5
    assert not sy.monitoring.drift(reference, current, drift_share=0.6).attrs["drifted"]
    assert not sy.monitoring.drift(reference, reference).attrs["drifted"]
    with pytest.raises(InvalidInputError, match="drift_share"):
        sy.monitoring.drift(reference, current, drift_share=1.5)


def test_missing_unsupported_and_text_columns() -> None:
    reference = data(1500)
    reference["when"] = pd.date_range("2024-01-01", periods=1500, freq="min")
    reference["note"] = [f"note {i}" for i in range(1500)]
    current = data(1500, seed=1).drop(columns=["y"])
    current["note"] = [f"other {i}" for i in range(1500)]
    current["when"] = reference["when"]
    frame = sy.monitoring.drift(reference, current)
    assert "y" not in set(frame["column"]) and frame.attrs["missing_columns"] == ["y"]
    assert set(frame.attrs["skipped"]) == {"when", "note"}
    explicit = sy.monitoring.drift(reference, current, columns=["note"])
    assert explicit["test"][0] == "jensen_shannon"  # asked for, a text column is compared as categories
    with pytest.raises(InvalidInputError, match="not in the current data: y"):
        sy.monitoring.drift(reference, current, columns=["x", "y"])
    with pytest.raises(InvalidInputError, match="timestamp"):
        sy.monitoring.drift(reference, current, columns=["when"])


def test_bad_tests_and_thresholds_are_refused() -> None:
    reference, current = data(100), data(100, seed=1)
    with pytest.raises(InvalidInputError, match="unknown drift test 'magic'"):
        sy.monitoring.drift(reference, current, tests={"x": "magic"})
    with pytest.raises(InvalidInputError, match="not checked: nope"):
        sy.monitoring.drift(reference, current, tests={"nope": "ks"})
    with pytest.raises(InvalidInputError, match="p-value between 0 and 1"):
        sy.monitoring.drift(reference, current, columns=["x"], thresholds=2.0)
    with pytest.raises(InvalidInputError, match="a number >= 0"):
        sy.monitoring.drift(reference, current, columns=["x"], tests="psi", thresholds=-1)
    assert resolve_test("jensenshannon").name == "jensen_shannon"


def test_a_column_of_another_type_in_the_current_data() -> None:
    reference = pd.DataFrame({"x": np.arange(50.0)})
    with pytest.raises(InvalidInputError, match="where numbers were expected"):
        sy.monitoring.drift(reference, pd.DataFrame({"x": ["a"] * 50}))
    with pytest.raises(InvalidInputError, match="no values in the current data"):
        sy.monitoring.drift(reference, pd.DataFrame({"x": [np.nan] * 5}))


def test_inputs_of_every_kind_give_one_answer(tmp_path: object) -> None:
    reference, current = data(1200), data(900, shift=0.1, seed=1)
    expected = sy.monitoring.drift(reference, current)
    path = __import__("pathlib").Path(str(tmp_path)) / "current.parquet"
    current.to_parquet(path)
    for ref, cur in (
        (pa.Table.from_pandas(reference), pa.Table.from_pandas(current)),
        (build_profile(reference), path),
        (sy.monitoring.profile(reference), current),
    ):
        got = sy.monitoring.drift(ref, cur)
        pd.testing.assert_frame_equal(got, expected)
        assert got.attrs == expected.attrs


def test_engine_runs_columns_on_threads_with_the_same_answer() -> None:
    reference, current = data(2000), data(2000, shift=0.2, seed=1)
    serial = detect_drift(
        StoredProfiles(build_profile(reference)), SourceProfiles(open_source(current)), workers=1
    )
    threaded = detect_drift(
        StoredProfiles(build_profile(reference)), SourceProfiles(open_source(current)), workers=4
    )
    assert serial == threaded
    assert not math.isnan(serial.share_drifted) and serial.to_frame().attrs == serial.summary()
