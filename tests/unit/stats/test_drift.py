"""The drift tests against scipy (hypothesis) and against values worked out by hand."""

from __future__ import annotations

import bisect
import json
import math
import warnings
from collections import Counter

import hypothesis.extra.numpy as hnp
import numpy as np
import pandas as pd
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon as scipy_jensenshannon
from scipy.special import rel_entr

from shipyard.core.errors import InvalidInputError
from shipyard.stats import (
    DEFAULT_THRESHOLDS,
    DRIFT_TESTS,
    PSI_EPSILON,
    DriftResult,
    chi2,
    drift_test,
    jensen_shannon,
    ks,
    psi,
    wasserstein,
)

SETTINGS = settings(max_examples=100, deadline=None)


def samples(max_size: int = 300) -> st.SearchStrategy[np.ndarray]:
    """Float samples: continuous values, heavy ties, or a constant; sizes 1..max_size."""
    size = st.integers(1, max_size)
    continuous = hnp.arrays(np.float64, size, elements=st.floats(-1e6, 1e6, allow_subnormal=False))
    tied = hnp.arrays(np.float64, size, elements=st.integers(-4, 4).map(float))
    constant = st.tuples(size, st.floats(-100, 100)).map(lambda t: np.full(t[0], t[1]))
    return st.one_of(continuous, tied, constant)


def shifted(draw_pair: tuple[np.ndarray, float, float]) -> np.ndarray:
    values, scale, shift = draw_pair
    return values * scale + shift


def close(a: float, b: float, rel: float = 1e-9, abs_: float = 1e-12) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


# --------------------------------------------------------------- oracle helpers


def bin_of(value: float, edges: list[float]) -> int:
    """The bin of ``value`` as the module docstring describes it, in plain Python."""
    if value < edges[0]:
        return 0
    if value > edges[-1]:
        return max(len(edges) - 1, 1) + 1
    if len(edges) == 1:
        return 1
    if value == edges[-1]:
        return len(edges) - 1
    return bisect.bisect_right(edges, value)


def reference_bins(
    reference: np.ndarray, current: np.ndarray, bins: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Bin counts of both samples on the reference's quantile edges."""
    edges = sorted(set(np.quantile(reference, np.linspace(0, 1, bins + 1)).tolist()))
    n_bins = max(len(edges) - 1, 1) + 2

    def counts(values: np.ndarray) -> np.ndarray:
        return np.bincount([bin_of(v, edges) for v in values.tolist()], minlength=n_bins)

    return counts(reference), counts(current)


# ------------------------------------------------------------------- hypothesis


@SETTINGS
@given(samples(), samples())
def test_ks_matches_scipy_asymptotic(reference: np.ndarray, current: np.ndarray) -> None:
    ours = ks(reference, current)
    if reference.size == current.size == 1:  # scipy: NaN and a RuntimeWarning
        assert ours.p_value == 1.0
        return
    theirs = scipy.stats.ks_2samp(reference, current, method="asymp")
    assert ours.statistic == pytest.approx(float(theirs.statistic), rel=1e-12, abs=1e-12)
    assert close(ours.p_value, float(theirs.pvalue))
    assert isinstance(ours.statistic, float) and isinstance(ours.p_value, float)


@SETTINGS
@given(samples(), samples())
def test_ks_statistic_matches_scipy_auto(reference: np.ndarray, current: np.ndarray) -> None:
    with warnings.catch_warnings():  # scipy warns when its exact p-value fails; D is unaffected
        warnings.simplefilter("ignore", RuntimeWarning)
        theirs = scipy.stats.ks_2samp(reference, current)
    assert ks(reference, current).statistic == pytest.approx(float(theirs.statistic), abs=1e-12)


@SETTINGS
@given(samples(), samples())
def test_wasserstein_matches_scipy(reference: np.ndarray, current: np.ndarray) -> None:
    theirs = float(scipy.stats.wasserstein_distance(reference, current))
    scale = float(np.max(np.abs(np.concatenate([reference, current]))))
    assert close(wasserstein(reference, current), theirs, abs_=1e-12 * max(scale, 1.0))


@SETTINGS
@given(samples(), samples(), st.integers(1, 20))
def test_jensen_shannon_matches_scipy(reference: np.ndarray, current: np.ndarray, bins: int) -> None:
    ref_counts, cur_counts = reference_bins(reference, current, bins)
    theirs = float(np.nan_to_num(scipy_jensenshannon(ref_counts, cur_counts, base=2)))
    ours = jensen_shannon(reference, current, bins=bins)
    assert 0.0 <= ours <= 1.0
    assert ours == pytest.approx(theirs, abs=1e-7)


@SETTINGS
@given(samples(), samples(), st.integers(1, 20))
def test_psi_matches_symmetric_kl_of_clipped_shares(
    reference: np.ndarray, current: np.ndarray, bins: int
) -> None:
    ref_counts, cur_counts = reference_bins(reference, current, bins)
    p = np.maximum(ref_counts / ref_counts.sum(), PSI_EPSILON)
    q = np.maximum(cur_counts / cur_counts.sum(), PSI_EPSILON)
    theirs = float(rel_entr(q, p).sum() + rel_entr(p, q).sum())  # PSI = KL(q||p) + KL(p||q)
    ours = psi(reference, current, bins=bins)
    assert ours >= 0.0
    assert close(ours, theirs, abs_=1e-12)


categories = st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f"]), min_size=1, max_size=300)


@SETTINGS
@given(categories, categories)
def test_chi2_matches_scipy_without_yates(reference: list[str], current: list[str]) -> None:
    labels = sorted(set(reference) | set(current))
    ref_counts, cur_counts = Counter(reference), Counter(current)
    table = np.array([[ref_counts[c] for c in labels], [cur_counts[c] for c in labels]])
    theirs = scipy.stats.chi2_contingency(table, correction=False)
    ours = chi2(reference, current)
    assert ours.dof == theirs.dof
    assert close(ours.statistic, float(theirs.statistic))
    assert close(ours.p_value, float(theirs.pvalue))


@SETTINGS
@given(st.lists(st.integers(0, 3), min_size=1, max_size=100), st.lists(st.integers(0, 3), min_size=1))
def test_chi2_accepts_integer_categories(reference: list[int], current: list[int]) -> None:
    as_text = chi2([str(v) for v in reference], [str(v) for v in current])
    assert chi2(reference, current) == pytest.approx(as_text)


@SETTINGS
@given(samples(100), samples(100), st.sampled_from(["psi", "ks", "wasserstein", "jensen_shannon"]))
def test_nan_is_dropped(reference: np.ndarray, current: np.ndarray, name: str) -> None:
    with_nan = np.concatenate([reference, [np.nan, np.nan]])
    assert drift_test(name, with_nan, current) == drift_test(name, reference, current)


@SETTINGS
@given(samples(100), st.sampled_from(["psi", "ks", "wasserstein", "jensen_shannon"]))
def test_a_sample_does_not_drift_from_itself(values: np.ndarray, name: str) -> None:
    result = drift_test(name, values, values.copy())
    assert not result.drifted
    if result.p_value is None:
        assert result.statistic == pytest.approx(0.0, abs=1e-12)


# ------------------------------------------------------------------ known values


def test_ks_known_value() -> None:
    result = ks([1.0, 2.0, 3.0, 4.0], [3.0, 4.0, 5.0, 6.0])
    assert result.statistic == 0.5
    assert result.p_value == pytest.approx(0.5)


def test_ks_detects_a_shift() -> None:
    rng = np.random.default_rng(0)
    result = drift_test("ks", rng.normal(0, 1, 2000), rng.normal(0.5, 1, 2000))
    assert result.drifted and result.p_value is not None and result.p_value < 1e-10


def test_wasserstein_known_values() -> None:
    assert wasserstein([0.0, 1.0, 3.0], [5.0, 6.0, 8.0]) == 5.0
    assert wasserstein([0.0, 0.0], [1.0]) == 1.0
    assert wasserstein(np.arange(10.0), np.arange(10.0) + 2.5) == pytest.approx(2.5)


def test_chi2_known_value() -> None:
    result = chi2(["a"] * 50 + ["b"] * 50, ["a"] * 70 + ["b"] * 30)
    assert result.statistic == pytest.approx(25 / 3)  # sum (O - E)^2 / E with E = 60, 40
    assert result.p_value == pytest.approx(0.0038924171)
    assert result.dof == 1


def test_chi2_single_category_is_no_drift() -> None:
    assert tuple(chi2(["x"] * 3, ["x"] * 5)) == (0.0, 1.0, 0)


def test_chi2_drops_missing_values() -> None:
    assert chi2(["a", None, "b", float("nan")], ["a", "b", pd.NA]) == chi2(["a", "b"], ["a", "b"])


def test_psi_by_hand() -> None:
    reference = np.arange(101.0)  # edges 0, 25, 50, 75, 100: bins of 25, 25, 25 and 26 values
    current = np.array([0.0] * 50 + [200.0] * 50)  # half in the first bin, half above the range
    ref_share = np.array([0, 25, 25, 25, 26, 0]) / 101
    cur_share = np.array([0, 0.5, 0, 0, 0, 0.5])
    p, q = np.maximum(ref_share, PSI_EPSILON), np.maximum(cur_share, PSI_EPSILON)
    assert psi(reference, current, bins=4) == pytest.approx(float(np.sum((q - p) * np.log(q / p))))
    assert bin_of(100.0, list(np.linspace(0, 100, 11))) == 10


def test_constant_columns() -> None:
    assert psi([3.0] * 10, [3.0] * 4) == 0.0
    assert psi([3.0] * 10, [4.0] * 4) > DEFAULT_THRESHOLDS["psi"]  # above the constant
    assert psi([3.0] * 10, [2.0] * 4) > DEFAULT_THRESHOLDS["psi"]  # below it
    assert jensen_shannon([3.0] * 10, [4.0] * 4) == 1.0
    assert ks([3.0] * 10, [3.0] * 4).statistic == 0.0
    assert wasserstein([3.0] * 10, [3.0] * 4) == 0.0


def test_jensen_shannon_known_values() -> None:
    # bins=1 on [1, 2]: bins (below 1, [1, 2], above 2); ref shares (0, 1, 0), current (0.5, 0.5, 0).
    value = jensen_shannon([1.0, 2.0], [0.0, 1.5], bins=1)
    expected = math.sqrt(
        (math.log2(1 / 0.75) + 0.5 * math.log2(0.5 / 0.25) + 0.5 * math.log2(0.5 / 0.75)) / 2
    )
    assert value == pytest.approx(expected)
    assert value == pytest.approx(scipy_jensenshannon([0, 1, 0], [0.5, 0.5, 0], base=2))
    assert jensen_shannon(np.arange(100.0), np.arange(100.0) + 1000) == 1.0  # disjoint


# --------------------------------------------------------------- the dispatcher


def test_drift_test_defaults_and_result_shape() -> None:
    rng = np.random.default_rng(1)
    reference, current = rng.normal(0, 1, 500), rng.normal(3, 1, 500)
    for name in ("psi", "ks", "wasserstein", "jensen_shannon"):
        result = drift_test(name, reference, current)
        assert isinstance(result, DriftResult) and result.test == name and result.drifted
        assert json.loads(json.dumps(result.to_dict())) == result.to_dict()
    assert drift_test("psi", reference, current).threshold == 0.2
    assert drift_test("jensen_shannon", reference, current).threshold == 0.1
    assert drift_test("ks", reference, current).threshold == 0.05
    assert drift_test("chi2", ["a", "b"] * 50, ["a"] * 100).threshold == 0.05
    assert drift_test("chi2", ["a", "b"] * 50, ["a"] * 100).drifted


def test_wasserstein_default_threshold_is_a_tenth_of_the_reference_std() -> None:
    reference = np.array([0.0, 10.0] * 50)  # std 5
    assert drift_test("wasserstein", reference, reference + 0.4).threshold == pytest.approx(0.5)
    assert not drift_test("wasserstein", reference, reference + 0.4).drifted
    assert drift_test("wasserstein", reference, reference + 0.6).drifted
    assert drift_test("wasserstein", reference, reference + 0.6, threshold=1.0).threshold == 1.0
    assert drift_test("wasserstein", [2.0] * 5, [2.0] * 3).drifted is False
    assert drift_test("wasserstein", [2.0] * 5, [2.1] * 3).drifted is True


def test_thresholds_decide() -> None:
    reference, current = np.arange(100.0), np.arange(100.0) + 5
    value = psi(reference, current)
    assert drift_test("psi", reference, current, threshold=value + 0.01).drifted is False
    assert drift_test("psi", reference, current, threshold=value - 0.01).drifted is True
    p = ks(reference, current).p_value
    assert drift_test("ks", reference, current, threshold=p / 2).drifted is False
    assert drift_test("ks", reference, current, threshold=min(1.0, p * 2)).drifted is True


def test_unknown_test_lists_the_names() -> None:
    with pytest.raises(InvalidInputError) as caught:
        drift_test("kolmogorov", [1.0], [1.0])
    for name in DRIFT_TESTS:
        assert name in str(caught.value)


@pytest.mark.parametrize(
    ("name", "reference", "current", "words"),
    [
        ("ks", [], [1.0], "reference is empty"),
        ("psi", [1.0], [np.nan, np.nan], "current is empty"),
        ("wasserstein", [1.0, np.inf], [1.0], "infinite"),
        ("jensen_shannon", ["a", "b"], [1.0], "must hold numbers"),
        ("ks", np.ones((3, 2)), [1.0], "one-dimensional"),
        ("chi2", [None], ["a"], "reference is empty"),
        ("chi2", ["a"], [[1, 2], [3, 4]], "one-dimensional"),
    ],
)
def test_bad_samples_are_invalid_input(name: str, reference: object, current: object, words: str) -> None:
    with pytest.raises(InvalidInputError, match=words):
        drift_test(name, reference, current)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "threshold"), [("ks", 1.5), ("psi", -1.0), ("chi2", float("nan"))])
def test_bad_thresholds_are_invalid_input(name: str, threshold: float) -> None:
    with pytest.raises(InvalidInputError, match="threshold"):
        drift_test(name, [1.0, 2.0], [1.0, 2.0], threshold=threshold)


@pytest.mark.parametrize("bins", [0, -3, 2.5, True])
def test_bad_bins_are_invalid_input(bins: object) -> None:
    with pytest.raises(InvalidInputError, match="bins"):
        psi([1.0, 2.0], [1.0], bins=bins)  # type: ignore[arg-type]


def test_pandas_inputs_with_missing_values() -> None:
    reference = pd.Series([1.0, None, 2.0, 3.0], dtype="Float64")
    current = pd.Series([1, 2, None], dtype="Int64")
    assert ks(reference, current) == ks([1.0, 2.0, 3.0], [1.0, 2.0])
    assert chi2(pd.Series(["a", None, "b"], dtype="string"), pd.Categorical(["a", "b", "b"])).dof == 1
