"""Drift tests: is a current sample distributed like a reference sample?

Five tests, vectorised with numpy, shared by the validation and monitoring domains
and checked against scipy by the unit tests:

================  ===========  ===================================  =========================
name              data         statistic                            drifted when (default)
================  ===========  ===================================  =========================
psi               numeric      population stability index           statistic > 0.2
ks                numeric      two-sample Kolmogorov-Smirnov D      p-value < 0.05
chi2              categorical  Pearson chi-square, no Yates         p-value < 0.05
wasserstein       numeric      earth mover's distance (data units)  statistic > 0.1 x ref std
jensen_shannon    numeric      Jensen-Shannon distance, base 2      statistic > 0.1
================  ===========  ===================================  =========================

Inputs are one-dimensional array-likes (lists, numpy arrays, pandas Series). Missing
values are dropped before testing: NaN and None for the numeric tests, None/NaN/NA for
``chi2``. A sample that is empty after dropping them, holds infinite values (numeric
tests) or is not one-dimensional raises :class:`~shipyard.core.errors.InvalidInputError`.
A constant column is fine: identical constant samples never drift.

Binning (``psi`` and ``jensen_shannon``): the edges are the reference's quantiles at
``0, 1/bins, ..., 1`` (numpy's default linear interpolation; the first is the minimum,
the last the maximum), duplicates removed. The bins are ``[e_0, e_1), [e_1, e_2), ...,
[e_k-1, e_k]`` across the reference's range plus two open bins for values below its
minimum and above its maximum, so every value falls in a bin and a shift out of the
reference's range always shows. A constant reference ``c`` gives three bins: below
``c``, exactly ``c``, above ``c``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from shipyard.core.errors import InvalidInputError
from shipyard.stats.twosample import (
    bin_counts,
    chi2_contingency_counts,
    js_distance,
    ks_p_value,
    ks_statistic,
    psi_counts,
    quantile_edges,
    wasserstein_sorted,
)

__all__ = [
    "DEFAULT_THRESHOLDS",
    "DRIFT_TESTS",
    "PSI_EPSILON",
    "Chi2Result",
    "DriftResult",
    "KSResult",
    "chi2",
    "drift_test",
    "jensen_shannon",
    "ks",
    "psi",
    "wasserstein",
]

PSI_EPSILON = 1e-4
"""Floor for a bin's share in :func:`psi`, so an empty bin adds a finite amount."""

DEFAULT_THRESHOLDS: dict[str, float] = {
    "psi": 0.2,
    "ks": 0.05,
    "chi2": 0.05,
    "wasserstein": 0.1,  # times the reference's standard deviation
    "jensen_shannon": 0.1,
}
"""Default threshold per test; for ``wasserstein`` a multiple of the reference std."""

_P_VALUE_TESTS = frozenset({"ks", "chi2"})

Array = NDArray[np.float64]


@dataclass(frozen=True)
class DriftResult:
    """The outcome of one drift test.

    ``threshold`` is the value ``statistic`` (or ``p_value`` for ``ks`` and ``chi2``)
    was compared with, in the statistic's own units.
    """

    test: str
    statistic: float
    p_value: float | None
    drifted: bool
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return {
            "test": self.test,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "drifted": self.drifted,
            "threshold": self.threshold,
        }


class KSResult(NamedTuple):
    """Two-sample Kolmogorov-Smirnov statistic and asymptotic two-sided p-value."""

    statistic: float
    p_value: float


class Chi2Result(NamedTuple):
    """Pearson chi-square statistic, p-value and degrees of freedom."""

    statistic: float
    p_value: float
    dof: int


def psi(reference: ArrayLike, current: ArrayLike, bins: int = 10) -> float:
    """Population stability index of ``current`` against ``reference``.

    ``sum((c_i - r_i) * ln(c_i / r_i))`` over the bins (see the module docstring),
    where ``r_i`` and ``c_i`` are the shares of each sample in bin ``i``. A share
    below :data:`PSI_EPSILON` (an empty bin) is raised to it, so the index stays
    finite. Rule of thumb: < 0.1 stable, 0.1-0.2 some shift, > 0.2 drifted.

    >>> ref = np.arange(100.0)
    >>> psi(ref, ref)
    0.0
    >>> round(psi(ref, ref + 50), 3)
    7.708
    """
    ref = _numeric(reference, "reference")
    cur = _numeric(current, "current")
    edges = _bin_edges(ref, bins)
    return psi_counts(bin_counts(ref, edges), bin_counts(cur, edges), PSI_EPSILON)


def ks(reference: ArrayLike, current: ArrayLike) -> KSResult:
    """Two-sample Kolmogorov-Smirnov test (two-sided).

    The statistic is the largest gap between the two empirical CDFs, found with
    sorted arrays and ``searchsorted``. The p-value is the asymptotic one: it matches
    ``scipy.stats.ks_2samp(reference, current, method="asymp")`` (scipy's default
    ``"auto"`` computes an exact p-value when both samples have at most 10,000
    values, so it can differ for small samples; the statistic is the same). With a
    single value in each sample the p-value is 1 (scipy returns NaN there).

    >>> r = ks([1.0, 2.0, 3.0, 4.0], [3.0, 4.0, 5.0, 6.0])
    >>> r.statistic
    0.5
    >>> r.p_value
    0.5
    """
    a = np.sort(_numeric(reference, "reference"))
    b = np.sort(_numeric(current, "current"))
    statistic = ks_statistic(a, b)
    return KSResult(statistic, ks_p_value(statistic, a.size, b.size))


def chi2(reference: ArrayLike, current: ArrayLike) -> Chi2Result:
    """Chi-square test that two categorical samples share one distribution.

    Builds the 2 x k contingency table of category counts (k = categories seen in
    either sample) and returns Pearson's statistic without Yates' continuity
    correction, its p-value and ``k - 1`` degrees of freedom: the same as
    ``scipy.stats.chi2_contingency(table, correction=False)``. With a single
    category there is nothing to test: statistic 0, p-value 1, dof 0.

    >>> r = chi2(["a"] * 50 + ["b"] * 50, ["a"] * 70 + ["b"] * 30)
    >>> round(r.statistic, 4), round(r.p_value, 5), r.dof
    (8.3333, 0.00389, 1)
    """
    observed = _contingency(reference, current)
    return Chi2Result(*chi2_contingency_counts(observed[0], observed[1]))


def wasserstein(reference: ArrayLike, current: ArrayLike) -> float:
    """First Wasserstein (earth mover's) distance between two 1-D samples.

    The integral of ``|F_ref - F_cur|`` over the merged sorted values, as
    ``scipy.stats.wasserstein_distance`` computes it; in the data's units.

    >>> wasserstein([0.0, 1.0, 3.0], [5.0, 6.0, 8.0])
    5.0
    """
    u = np.sort(_numeric(reference, "reference"))
    return wasserstein_sorted(u, np.sort(_numeric(current, "current")))


def jensen_shannon(reference: ArrayLike, current: ArrayLike, bins: int = 10) -> float:
    """Jensen-Shannon distance (base 2, so in [0, 1]) between the binned samples.

    Both samples are binned on the reference's quantile bins (module docstring);
    the result equals ``scipy.spatial.distance.jensenshannon(ref_counts,
    cur_counts, base=2)`` on those bin counts. No epsilon is needed: empty bins
    contribute 0.

    >>> ref = np.arange(100.0)
    >>> jensen_shannon(ref, ref)
    0.0
    >>> jensen_shannon(ref, ref + 1000)
    1.0
    """
    ref = _numeric(reference, "reference")
    cur = _numeric(current, "current")
    edges = _bin_edges(ref, bins)
    return js_distance(bin_counts(ref, edges) / ref.size, bin_counts(cur, edges) / cur.size, base=2.0)


_TESTS: dict[str, Callable[[ArrayLike, ArrayLike], Any]] = {
    "psi": psi,
    "ks": ks,
    "chi2": chi2,
    "wasserstein": wasserstein,
    "jensen_shannon": jensen_shannon,
}

DRIFT_TESTS: tuple[str, ...] = tuple(_TESTS)
"""The names :func:`drift_test` accepts."""


def drift_test(
    name: str, reference: ArrayLike, current: ArrayLike, threshold: float | None = None
) -> DriftResult:
    """Run the drift test called ``name`` and decide whether ``current`` drifted.

    ``psi``, ``wasserstein`` and ``jensen_shannon`` drift when the statistic exceeds
    ``threshold``; ``ks`` and ``chi2`` when the p-value is below it. Without a
    threshold the test's entry of :data:`DEFAULT_THRESHOLDS` is used; for
    ``wasserstein`` that default is 0.1 times the reference's standard deviation
    (population std, NaN dropped), while a threshold passed in is in the data's
    units. The result's ``threshold`` is always the absolute value compared with.

    >>> drift_test("psi", np.arange(100.0), np.arange(100.0) + 50)  # doctest: +ELLIPSIS
    DriftResult(test='psi', statistic=7.7081..., p_value=None, drifted=True, threshold=0.2)
    >>> drift_test("ks", [1, 2, 3], [1, 2, 3]).drifted
    False
    """
    if name not in _TESTS:
        known = ", ".join(DRIFT_TESTS)
        raise InvalidInputError(
            f"unknown drift test {name!r}; known tests: {known}", details={"known": known}
        )
    limit = _threshold(name, reference, threshold)
    outcome = _TESTS[name](reference, current)
    if name in _P_VALUE_TESTS:
        return DriftResult(name, outcome.statistic, outcome.p_value, outcome.p_value < limit, limit)
    return DriftResult(name, float(outcome), None, float(outcome) > limit, limit)


def _threshold(name: str, reference: ArrayLike, threshold: float | None) -> float:
    """The absolute threshold for test ``name``."""
    if threshold is None:
        if name == "wasserstein":
            return DEFAULT_THRESHOLDS[name] * float(np.std(_numeric(reference, "reference")))
        return DEFAULT_THRESHOLDS[name]
    value = float(threshold)
    if math.isnan(value) or value < 0 or (name in _P_VALUE_TESTS and value > 1):
        bounds = "between 0 and 1" if name in _P_VALUE_TESTS else "0 or more"
        raise InvalidInputError(f"threshold for {name} must be {bounds}, got {threshold!r}")
    return value


def _numeric(values: ArrayLike, label: str) -> Array:
    """``values`` as a 1-D float array without NaN; InvalidInputError if unusable."""
    try:
        if hasattr(values, "to_numpy"):  # pandas: nullable dtypes hold NA, not NaN
            array = np.asarray(values.to_numpy(dtype="float64", na_value=np.nan), dtype=np.float64)
        else:
            array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{label} must hold numbers: {exc}") from exc
    if array.ndim != 1:
        raise InvalidInputError(f"{label} must be one-dimensional, got shape {array.shape}")
    array = array[~np.isnan(array)]
    if array.size == 0:
        raise InvalidInputError(f"{label} is empty (NaN values are dropped)")
    if not np.isfinite(array).all():
        raise InvalidInputError(f"{label} holds infinite values")
    return array


def _contingency(reference: ArrayLike, current: ArrayLike) -> Array:
    """The 2 x k table of category counts (reference row, current row)."""
    import pandas as pd

    ref = _categorical(reference, "reference")
    cur = _categorical(current, "current")
    codes, uniques = pd.factorize(np.concatenate([ref, cur]), use_na_sentinel=True)
    k = len(uniques)
    ref_codes, cur_codes = codes[: ref.size], codes[ref.size :]
    ref_counts = np.bincount(ref_codes[ref_codes >= 0], minlength=k)
    cur_counts = np.bincount(cur_codes[cur_codes >= 0], minlength=k)
    for label, counts in (("reference", ref_counts), ("current", cur_counts)):
        if counts.sum() == 0:
            raise InvalidInputError(f"{label} is empty (missing values are dropped)")
    return np.vstack([ref_counts, cur_counts]).astype(np.float64)


def _categorical(values: ArrayLike, label: str) -> NDArray[Any]:
    """``values`` as a 1-D object array."""
    array = np.asarray(values.to_numpy(dtype=object) if hasattr(values, "to_numpy") else values, dtype=object)
    if array.ndim != 1:
        raise InvalidInputError(f"{label} must be one-dimensional, got shape {array.shape}")
    return array


def _bin_edges(reference: Array, bins: int) -> Array:
    """The reference's quantiles at 0, 1/bins, ..., 1, duplicates removed."""
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise InvalidInputError(f"bins must be a positive integer, got {bins!r}")
    return quantile_edges(reference, int(bins))
