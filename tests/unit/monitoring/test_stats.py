"""shipyard.monitoring.stats against scipy (hypothesis) and Evidently's definitions written by hand."""

from __future__ import annotations

import math
import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon as scipy_jensenshannon

from shipyard.core.errors import InvalidInputError
from shipyard.monitoring import stats
from shipyard.monitoring.profiles import numeric_profile, profile_values
from shipyard.stats import drift as validation_drift
from tests.unit.stats.samples import float_samples

SETTINGS = settings(max_examples=120, deadline=None)


samples = float_samples


def close(a: float, b: float, tol: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


def scipy_ks(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    with warnings.catch_warnings():  # scipy warns when its exact p-value falls back to asymp
        warnings.simplefilter("ignore", RuntimeWarning)
        result = scipy.stats.ks_2samp(reference, current)
    return float(result.statistic), float(result.pvalue)


# -------------------------------------------------------------------- against scipy


@SETTINGS
@given(samples(), samples())
def test_ks_matches_scipy_default(reference: np.ndarray, current: np.ndarray) -> None:
    ours = stats.ks(reference, current)
    statistic, p_value = scipy_ks(reference, current)
    assert ours.statistic == statistic
    if not math.isnan(p_value):
        assert close(ours.p_value or 0.0, p_value)


@settings(max_examples=15, deadline=None)
@given(samples(10_001, 12_000), samples(1, 500))
def test_ks_matches_scipy_asymptotic_above_10000_values(reference: np.ndarray, current: np.ndarray) -> None:
    ours = stats.ks(reference, current)
    statistic, p_value = scipy_ks(reference, current)
    assert ours.statistic == statistic and close(ours.p_value or 0.0, p_value)


@SETTINGS
@given(samples(), samples())
def test_wasserstein_is_scipys_distance_over_the_reference_std(
    reference: np.ndarray, current: np.ndarray
) -> None:
    distance = float(scipy.stats.wasserstein_distance(reference, current))
    norm = max(float(np.std(reference)), 0.001)  # Evidently's wasserstein_distance_norm
    assert close(stats.wasserstein(reference, current).statistic, distance / norm)
    assert stats.wasserstein(reference, current).p_value is None


categories = st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f"]), min_size=1, max_size=300)


@SETTINGS
@given(categories, categories)
def test_chi2_is_evidentlys_chisquare(reference: list[str], current: list[str]) -> None:
    keys = sorted(set(reference) | set(current))
    ref_counts, cur_counts = Counter(reference), Counter(current)
    ours = stats.chi2(reference, current)
    if any(ref_counts[k] == 0 for k in keys):  # a category the reference never had
        assert ours.statistic == math.inf and ours.p_value == 0.0
        return
    if len(keys) == 1:
        assert (ours.statistic, ours.p_value) == (0.0, 1.0)
        return
    k_norm = len(current) / len(reference)  # as Evidently's _chi_stat_test
    theirs = scipy.stats.chisquare([cur_counts[k] for k in keys], [ref_counts[k] * k_norm for k in keys])
    assert close(ours.statistic, float(theirs.statistic))
    assert close(ours.p_value or 0.0, float(theirs.pvalue))


# ------------------------------------------------------- Evidently's definitions by hand


@SETTINGS
@given(samples(), samples())
def test_jensen_shannon_is_evidentlys(reference: np.ndarray, current: np.ndarray) -> None:
    """Evidently's get_binned_data(feel_zeroes=False) + scipy's jensenshannon, natural log."""
    if pd.Series(reference).nunique() > 20:
        edges = np.histogram_bin_edges(np.concatenate([reference, current]), bins="sturges")
        p = np.histogram(reference, edges)[0] / reference.size
        q = np.histogram(current, edges)[0] / current.size
    else:
        keys = sorted(set(reference.tolist()) | set(current.tolist()))
        ref_counts, cur_counts = Counter(reference.tolist()), Counter(current.tolist())
        p = np.array([ref_counts[k] / reference.size for k in keys])
        q = np.array([cur_counts[k] / current.size for k in keys])
    theirs = float(scipy_jensenshannon(p, q))
    assert close(stats.jensen_shannon(reference, current).statistic, theirs)


@SETTINGS
@given(categories, categories)
def test_jensen_shannon_of_categories_is_evidentlys(reference: list[str], current: list[str]) -> None:
    keys = sorted(set(reference) | set(current))
    ref_counts, cur_counts = Counter(reference), Counter(current)
    p = np.array([ref_counts[k] / len(reference) for k in keys])
    q = np.array([cur_counts[k] / len(current) for k in keys])
    assert close(stats.jensen_shannon(reference, current).statistic, float(scipy_jensenshannon(p, q)))


binary = st.lists(st.sampled_from(["no", "yes"]), min_size=1, max_size=300)


@SETTINGS
@given(binary, binary)
def test_z_proportion_is_evidentlys_two_proportion_test(reference: list[str], current: list[str]) -> None:
    ours = stats.z_proportion(reference, current)
    keys = sorted(set(reference) | set(current))
    if len(set(reference)) == 1 and set(reference) == set(current):
        assert ours.p_value == 1.0
        return
    n1, n2 = len(reference), len(current)
    p1 = sum(v != keys[0] for v in reference) / n1
    p2 = sum(v != keys[0] for v in current) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    assert close(ours.statistic, z)
    assert close(ours.p_value or 0.0, 2 * (1 - scipy.stats.norm.cdf(abs(z))), tol=1e-12)


def test_z_proportion_needs_a_binary_column() -> None:
    with pytest.raises(InvalidInputError, match="binary"):
        stats.z_proportion(["a", "b"], ["c"])


@SETTINGS
@given(samples(), samples(), st.integers(1, 15))
def test_psi_is_the_validation_psi(reference: np.ndarray, current: np.ndarray, bins: int) -> None:
    assert close(
        stats.psi(reference, current, bins=bins).statistic, validation_drift.psi(reference, current, bins)
    )


def test_psi_of_categories_compares_floored_shares() -> None:
    result = stats.psi(["a"] * 50 + ["b"] * 50, ["a"] * 80 + ["b"] * 20)
    expected = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert close(result.statistic, expected)


# ------------------------------------------------------------ inputs and profiles


@SETTINGS
@given(samples(), samples())
def test_a_profile_gives_the_same_result_as_the_raw_sample(
    reference: np.ndarray, current: np.ndarray
) -> None:
    profile = numeric_profile("x", reference)
    for test in (stats.ks, stats.wasserstein, stats.jensen_shannon, stats.psi):
        assert test(profile, current) == test(reference, current), test.__name__


def test_missing_and_infinite_values_are_dropped() -> None:
    clean = stats.ks([1.0, 2.0, 3.0], [2.0, 3.0, 4.0])
    assert stats.ks([1.0, np.nan, 2.0, np.inf, 3.0, None], pd.Series([2.0, 3.0, 4.0, -np.inf])) == clean
    arrow = stats.chi2(pa.array(["a", None, "b", "a"]), ["a", "b", "b"])
    assert arrow == stats.chi2(["a", "b", "a"], ["a", "b", "b"])


def test_a_sample_with_no_values_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="no values"):
        stats.ks([np.nan, np.inf], [1.0])
    with pytest.raises(InvalidInputError, match="where numbers were expected"):
        stats.wasserstein(["a", "b"], ["a"])
    with pytest.raises(InvalidInputError, match="one-dimensional"):
        stats.ks(np.zeros((2, 2)), [1.0])
    with pytest.raises(InvalidInputError, match="bins"):
        stats.psi([1.0], [1.0], bins=0)
    with pytest.raises(InvalidInputError, match="method"):
        stats.ks([1.0], [1.0], method="fast")


def test_known_values() -> None:
    assert stats.wasserstein([0.0, 1.0, 3.0], [5.0, 6.0, 8.0]).statistic == pytest.approx(
        5.0 / np.std([0, 1, 3])
    )
    assert stats.wasserstein([1.0, 1.0], [1.0, 2.0]).statistic == pytest.approx(0.5 / 0.001)  # std floor
    assert stats.jensen_shannon(["a"], ["b"]).statistic == pytest.approx(math.sqrt(math.log(2)))
    result = stats.ks([1.0, 2.0, 3.0, 4.0], [3.0, 4.0, 5.0, 6.0])
    assert result.statistic == 0.5 and result.p_value == pytest.approx(0.7714285714285716)
    assert profile_values([1, 2, 2]).kind == "numeric" and profile_values(["x"]).kind == "categorical"
