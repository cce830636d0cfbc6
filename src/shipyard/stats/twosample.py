"""Two-sample statistics computed from sorted samples and counts.

The building blocks of :mod:`shipyard.stats.drift` (validation) and
:mod:`shipyard.monitoring.stats` (monitoring). Each takes what a stored reference
profile keeps (a sorted sample, bin edges and counts, category counts), so that a
check costs time in the size of the window being checked rather than the reference:

======================  ===========================================  =====================
function                inputs                                       cost (n ref, m window)
======================  ===========================================  =====================
ks_statistic            two sorted samples                           O(m log n)
wasserstein_sorted      two sorted samples                           O(n + m), no sorting
chi2_contingency_counts two count vectors over the same categories   O(k)
chi2_goodness_counts    two count vectors over the same categories   O(k)
z_proportion_counts     counts of the first category and totals      O(1)
js_distance             two frequency vectors                        O(k)
psi_counts              two count vectors over the same bins         O(k)
======================  ===========================================  =====================

The statistics equal scipy's on the same samples: ``ks_statistic`` is exactly the
``statistic`` of ``scipy.stats.ks_2samp`` (the same counts divided the same way), and
``wasserstein_sorted`` is ``scipy.stats.wasserstein_distance`` computed through the
quantile functions (the same integral, summed in another order: equal to about 1e-15
relative). The unit tests hold them to scipy with hypothesis.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "bin_counts",
    "bin_counts_sorted",
    "chi2_contingency_counts",
    "chi2_goodness_counts",
    "histogram_counts_sorted",
    "js_distance",
    "ks_exact",
    "ks_p_value",
    "ks_statistic",
    "psi_counts",
    "quantile_edges",
    "run_lengths",
    "sorted_quantiles",
    "sturges_edges",
    "wasserstein_sorted",
    "z_proportion_counts",
]

Array = NDArray[np.float64]
Counts = NDArray[np.int64]

KS_EXACT_MAX_N = 10_000
"""``scipy.stats.ks_2samp(method="auto")`` computes an exact p-value up to this many values per side."""


# -- Kolmogorov-Smirnov ------------------------------------------------------------------


def ks_statistic(reference: Array, current: Array) -> float:
    """The two-sided KS statistic ``D`` of two sorted, NaN-free samples.

    Evaluated at each distinct value of ``current`` (and just below it) by binary
    search in ``reference``: O(m log n). Between two current values the current ECDF
    is flat, so the largest gaps in that stretch sit at its ends; the values compared
    are the very ``count_ref / n - count_cur / m`` that ``ks_2samp`` compares.

    >>> ks_statistic(np.array([1.0, 2.0, 3.0, 4.0]), np.array([3.0, 4.0, 5.0, 6.0]))
    0.5
    """
    n, m = reference.size, current.size
    ends = _run_ends(current)
    values = current[ends]
    cur_at = (ends + 1).astype(np.float64) / m
    cur_before = np.concatenate(([0.0], cur_at[:-1]))
    below = np.searchsorted(reference, values, side="left")
    upto = below.copy()  # count of reference values <= each value: more than ``below`` only on ties
    tied = np.flatnonzero(reference[np.minimum(below, n - 1)] == values)
    upto[tied] = np.searchsorted(reference, values[tied], side="right")
    gaps = np.concatenate((upto / n - cur_at, below / n - cur_before, [0.0]))
    low = float(np.clip(-gaps.min(), 0.0, 1.0))
    high = float(gaps.max())
    return low if low > high else high


def ks_p_value(statistic: float, n: int, m: int) -> float:
    """The asymptotic two-sided p-value ``ks_2samp(method="asymp")`` gives for ``D`` and sizes n, m."""
    from scipy.stats import kstwo

    big, small = sorted((float(n), float(m)), reverse=True)
    effective_n = np.round(big * small / (big + small))
    if effective_n < 1:  # one value on each side: no evidence either way (scipy gives NaN)
        return 1.0
    return float(np.clip(kstwo.sf(statistic, effective_n), 0.0, 1.0))


def ks_exact(reference: Array, current: Array) -> tuple[float, float]:
    """``ks_2samp(reference, current, method="exact")``: ``(D, p)`` for samples of up to 10,000 each.

    The exact path rounds ``D`` to the lattice ``h / lcm(n, m)`` (so it can differ
    from :func:`ks_statistic` in the last bit). scipy falls back to the asymptotic
    p-value (with a warning) when the exact computation overflows; so does this
    function, silently.
    """
    from scipy.stats import ks_2samp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = ks_2samp(reference, current, method="exact")
    return float(result.statistic), float(result.pvalue)


# -- Wasserstein -------------------------------------------------------------------------


def wasserstein_sorted(u: Array, v: Array) -> float:
    """First Wasserstein distance of two sorted, NaN-free samples (data units).

    ``integral |Q_u(t) - Q_v(t)| dt`` over ``t`` in (0, 1], with ``Q`` the quantile
    functions: the breakpoints ``i/n`` and ``j/m`` are merged by arithmetic (no
    search, no sort), so the cost is O(n + m). Equal sizes reduce to
    ``mean(|u - v|)``.

    >>> wasserstein_sorted(np.array([0.0, 1.0, 3.0]), np.array([5.0, 6.0, 8.0]))
    5.0
    """
    n, m = u.size, v.size
    if n == m:
        return float(np.mean(np.abs(u - v)))
    j = np.arange(1, m + 1, dtype=np.int64)
    is_v = np.zeros(n + m, dtype=bool)
    is_v[j - 1 + (j * n) // m] = True  # where each j/m falls among the i/n (i/n first on a tie)
    v_seen = np.cumsum(is_v)
    u_seen = np.arange(1, n + m + 1, dtype=np.int64) - v_seen
    ends = np.where(is_v, v_seen * n, u_seen * m)  # breakpoints in units of 1 / (n m)
    widths = np.diff(ends, prepend=0).astype(np.float64)
    ui = np.minimum(np.where(is_v, u_seen, u_seen - 1), n - 1)
    vi = np.minimum(np.where(is_v, v_seen - 1, v_seen), m - 1)
    return float(np.dot(np.abs(u[ui] - v[vi]), widths) / (float(n) * float(m)))


# -- categorical tests -------------------------------------------------------------------


def chi2_contingency_counts(reference: Counts, current: Counts) -> tuple[float, float, int]:
    """Pearson's chi-square of the 2 x k table of counts, no Yates correction.

    Returns ``(statistic, p_value, dof)`` as ``scipy.stats.chi2_contingency(table,
    correction=False)``; categories empty on both sides are left out, and a single
    category gives ``(0.0, 1.0, 0)``.
    """
    from scipy.special import chdtrc

    observed = np.vstack([reference, current]).astype(np.float64)
    observed = observed[:, observed.sum(axis=0) > 0]
    if observed.shape[1] < 2:
        return 0.0, 1.0, 0
    expected = observed.sum(axis=1, keepdims=True) * observed.sum(axis=0, keepdims=True) / observed.sum()
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    dof = observed.shape[1] - 1
    return statistic, float(chdtrc(dof, statistic)), dof


def chi2_goodness_counts(reference: Counts, current: Counts) -> tuple[float, float, int]:
    """Chi-square goodness of fit of ``current`` to the shares of ``reference`` (Evidently's ``chisquare``).

    The expected count of each category is its reference count scaled to the
    current total; the result equals ``scipy.stats.chisquare(current, expected)``
    with ``k - 1`` degrees of freedom. A category the reference never saw but the
    current holds has an expected count of 0: the statistic is infinite and the
    p-value 0. A single category gives ``(0.0, 1.0, 0)`` (scipy: NaN p-value).
    """
    from scipy.special import chdtrc

    observed = np.asarray(current, dtype=np.float64)
    expected = np.asarray(reference, dtype=np.float64) * (observed.sum() / float(np.sum(reference)))
    if observed.size < 2:
        return 0.0, 1.0, 0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (observed - expected) ** 2 / expected
    terms[(expected == 0) & (observed == 0)] = 0.0
    statistic = float(terms.sum())
    dof = observed.size - 1
    return statistic, float(chdtrc(dof, statistic)), dof


def z_proportion_counts(ref_first: int, n_ref: int, cur_first: int, n_cur: int) -> tuple[float, float]:
    """Two-proportion z-test; ``*_first`` count the values equal to the first category.

    As Evidently's ``z`` test: the proportions compared are those of values *other*
    than the first (smallest) category, pooled for the standard error; the p-value is
    two-sided. When the pooled proportion is 0 or 1 (one value on both sides) there
    is nothing to test: ``(0.0, 1.0)``.
    """
    from scipy.stats import norm

    p1 = (n_ref - ref_first) / n_ref
    p2 = (n_cur - cur_first) / n_cur
    pooled = (p1 * n_ref + p2 * n_cur) / (n_ref + n_cur)
    if pooled <= 0.0 or pooled >= 1.0:
        return 0.0, 1.0
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1.0 / n_ref + 1.0 / n_cur))
    return z, float(2.0 * norm.sf(abs(z)))


def js_distance(p: Array, q: Array, base: float | None = None) -> float:
    """Jensen-Shannon distance of two frequency vectors, as ``scipy.spatial.distance.jensenshannon``.

    Both are normalised to sum to 1; natural log unless ``base`` is given.

    >>> js_distance(np.array([1.0, 0.0]), np.array([0.0, 1.0]), base=2)
    1.0
    """
    from scipy.special import rel_entr

    p = p / np.sum(p)
    q = q / np.sum(q)
    m = (p + q) / 2.0
    divergence = float(np.sum(rel_entr(p, m)) + np.sum(rel_entr(q, m)))
    if base is not None:
        divergence /= math.log(base)
    return math.sqrt(max(divergence, 0.0) / 2.0)


def psi_counts(reference: NDArray[Any], current: NDArray[Any], epsilon: float) -> float:
    """Population stability index ``sum((c - r) ln(c / r))`` over bin shares floored at ``epsilon``."""
    ref_share = np.maximum(np.asarray(reference, dtype=np.float64) / np.sum(reference), epsilon)
    cur_share = np.maximum(np.asarray(current, dtype=np.float64) / np.sum(current), epsilon)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


# -- bins --------------------------------------------------------------------------------


def quantile_edges(values: Array, bins: int, *, presorted: bool = False) -> Array:
    """The quantiles of ``values`` at 0, 1/bins, ..., 1 (numpy's linear rule), duplicates removed.

    ``presorted`` reads them straight off a sorted sample (O(bins)), equal to
    ``numpy.quantile`` to the last bit.
    """
    levels = np.linspace(0.0, 1.0, int(bins) + 1)
    return np.unique(sorted_quantiles(values, levels) if presorted else np.quantile(values, levels))


def sorted_quantiles(values: Array, levels: Array) -> Array:
    """``numpy.quantile(values, levels)`` (method ``"linear"``) of a sorted, NaN-free sample, by indexing."""
    n = values.size
    virtual = (n - 1) * levels
    previous = np.floor(virtual)
    following = previous + 1
    top = virtual >= n - 1
    previous[top] = -1
    following[top] = -1
    gamma = virtual - previous
    low = values[previous.astype(np.intp)]
    high = values[following.astype(np.intp)]
    spread = high - low
    return np.where(gamma >= 0.5, high - spread * (1 - gamma), low + spread * gamma)


def bin_counts(values: Array, edges: Array) -> Counts:
    """Counts of ``values`` in the open-ended bins of ``edges``.

    The bins are: below ``edges[0]``; ``[e_0, e_1), ..., [e_k-1, e_k]`` (the last one
    closed); above ``edges[-1]``. A single edge ``c`` gives: below, exactly ``c``, above.
    """
    n_bins = max(edges.size - 1, 1) + 2
    index = np.searchsorted(edges, values, side="right")
    if edges.size > 1:
        index[values == edges[-1]] = edges.size - 1  # the last range bin is closed
    index[values > edges[-1]] = n_bins - 1
    return np.bincount(index, minlength=n_bins).astype(np.int64)


def bin_counts_sorted(values: Array, edges: Array) -> Counts:
    """:func:`bin_counts` of a sorted sample, by binary search of the edges: O(k log n)."""
    left = np.searchsorted(values, edges, side="left")
    last_right = np.searchsorted(values, edges[-1], side="right")
    if edges.size == 1:
        cuts = np.array([0, left[0], last_right, values.size])
    else:
        cuts = np.concatenate(([0], left[:-1], [last_right, values.size]))
    return np.diff(cuts).astype(np.int64)


def histogram_counts_sorted(values: Array, edges: Array) -> Counts:
    """``numpy.histogram(values, edges)[0]`` of a sorted sample (values outside the edges are not counted)."""
    cuts = np.concatenate(
        (np.searchsorted(values, edges[:-1], side="left"), np.searchsorted(values, edges[-1:], side="right"))
    )
    return np.diff(cuts).astype(np.int64)


def sturges_edges(low: float, high: float, size: int, integer: bool = False) -> Array:
    """``numpy.histogram_bin_edges(data, bins="sturges")`` from the data's min, max and size.

    ``integer`` applies numpy's rule for integer data (a bin is at least 1 wide).
    """
    first, last = float(low), float(high)
    if first == last:
        first, last = first - 0.5, last + 0.5
    width = (float(high) - float(low)) / (np.log2(size) + 1.0)
    if width:
        if integer and width < 1:
            width = 1
        n_bins = int(np.ceil((last - first) / width))
    else:
        n_bins = 1
    return np.linspace(first, last, n_bins + 1, endpoint=True)


def run_lengths(values: Array) -> tuple[Array, Counts]:
    """The distinct values of a sorted sample and how often each occurs."""
    if values.size == 0:
        return values[:0], np.zeros(0, dtype=np.int64)
    ends = _run_ends(values)
    return values[ends], np.diff(ends + 1, prepend=0).astype(np.int64)


def _run_ends(values: Array) -> NDArray[np.intp]:
    """Index of the last element of each run of equal values in a sorted array."""
    return np.flatnonzero(np.append(values[1:] != values[:-1], True))
