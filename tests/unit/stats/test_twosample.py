"""The two-sample kernels against scipy and numpy (hypothesis): the same numbers from sorted samples."""

from __future__ import annotations

import math
import warnings

import hypothesis.extra.numpy as hnp
import numpy as np
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.stats.twosample import (
    bin_counts,
    bin_counts_sorted,
    chi2_contingency_counts,
    chi2_goodness_counts,
    histogram_counts_sorted,
    ks_statistic,
    quantile_edges,
    run_lengths,
    sorted_quantiles,
    sturges_edges,
    wasserstein_sorted,
)

from .samples import float_samples

SETTINGS = settings(max_examples=150, deadline=None)


def samples(max_size: int = 200) -> st.SearchStrategy[np.ndarray]:
    return float_samples(1, max_size, sort=True)


@SETTINGS
@given(samples(), samples())
def test_ks_statistic_is_scipys_to_the_last_bit(reference: np.ndarray, current: np.ndarray) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy's NaN p-value for 1 vs 1 value
        theirs = scipy.stats.ks_2samp(reference, current, method="asymp")
    assert ks_statistic(reference, current) == float(theirs.statistic)


@SETTINGS
@given(samples(), samples())
def test_wasserstein_matches_scipy_to_1e9(reference: np.ndarray, current: np.ndarray) -> None:
    theirs = float(scipy.stats.wasserstein_distance(reference, current))
    assert math.isclose(wasserstein_sorted(reference, current), theirs, rel_tol=1e-9, abs_tol=1e-9)


@SETTINGS
@given(samples(), st.integers(1, 30))
def test_sorted_quantiles_equal_numpy_quantile(values: np.ndarray, bins: int) -> None:
    levels = np.linspace(0.0, 1.0, bins + 1)
    assert np.array_equal(sorted_quantiles(values, levels), np.quantile(values, levels))
    assert np.array_equal(quantile_edges(values, bins, presorted=True), quantile_edges(values, bins))


@SETTINGS
@given(samples(), samples(), st.integers(1, 20))
def test_bin_counts_of_a_sorted_sample_equal_the_direct_count(
    reference: np.ndarray, current: np.ndarray, bins: int
) -> None:
    edges = quantile_edges(reference, bins)
    assert np.array_equal(bin_counts_sorted(current, edges), bin_counts(current, edges))
    assert bin_counts_sorted(current, edges).sum() == current.size


@SETTINGS
@given(samples(), samples(), st.booleans())
def test_sturges_histogram_equals_numpys(reference: np.ndarray, current: np.ndarray, integer: bool) -> None:
    if integer:
        reference, current = np.round(reference), np.round(current)
    both = np.concatenate([reference, current])
    data = both.astype(np.int64) if integer else both
    edges = sturges_edges(both.min(), both.max(), both.size, integer)
    assert np.array_equal(edges, np.histogram_bin_edges(data, bins="sturges"))
    ref_data = reference.astype(np.int64) if integer else reference
    assert np.array_equal(histogram_counts_sorted(reference, edges), np.histogram(ref_data, edges)[0])


counts = hnp.arrays(np.int64, st.integers(2, 8), elements=st.integers(0, 500))


@SETTINGS
@given(counts, st.data())
def test_chi2_goodness_matches_scipy_chisquare(reference: np.ndarray, data: st.DataObject) -> None:
    current = data.draw(hnp.arrays(np.int64, reference.size, elements=st.integers(0, 500)))
    if reference.sum() == 0 or current.sum() == 0 or np.any((reference == 0) & (current > 0)):
        return  # no expected count for a value the reference never had: see the next test
    keep = (reference > 0) | (current > 0)
    reference, current = reference[keep], current[keep]
    statistic, p_value, dof = chi2_goodness_counts(reference, current)
    if reference.size < 2:
        assert (statistic, p_value, dof) == (0.0, 1.0, 0)
        return
    expected = reference * (current.sum() / reference.sum())
    theirs = scipy.stats.chisquare(current, expected)
    assert math.isclose(statistic, float(theirs.statistic), rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(p_value, float(theirs.pvalue), rel_tol=1e-9, abs_tol=1e-12)
    assert dof == reference.size - 1


def test_chi2_goodness_of_a_new_category_is_infinite() -> None:
    statistic, p_value, dof = chi2_goodness_counts(np.array([10, 0]), np.array([5, 5]))
    assert statistic == math.inf and p_value == 0.0 and dof == 1


@SETTINGS
@given(counts, st.data())
def test_chi2_contingency_matches_scipy(reference: np.ndarray, data: st.DataObject) -> None:
    current = data.draw(hnp.arrays(np.int64, reference.size, elements=st.integers(0, 500)))
    if reference.sum() == 0 or current.sum() == 0:
        return
    statistic, p_value, dof = chi2_contingency_counts(reference, current)
    table = np.vstack([reference, current])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        assert (statistic, p_value, dof) == (0.0, 1.0, 0)
        return
    theirs = scipy.stats.chi2_contingency(table, correction=False)
    assert math.isclose(statistic, float(theirs.statistic), rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(p_value, float(theirs.pvalue), rel_tol=1e-9, abs_tol=1e-12)
    assert dof == theirs.dof


@SETTINGS
@given(samples())
def test_run_lengths_rebuild_the_sample(values: np.ndarray) -> None:
    distinct, how_many = run_lengths(values)
    assert np.array_equal(np.repeat(distinct, how_many), values)
    assert np.array_equal(distinct, np.unique(values))
