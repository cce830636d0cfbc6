"""Drift statistics for monitoring, defined as Evidently defines them so decisions compare.

Each function takes the reference and the current sample, each either raw values
(a list, numpy array, pandas Series or Arrow array; missing and infinite values are
dropped, as Evidently does) or a column profile from :mod:`shipyard.monitoring.profiles`
(so a stored reference is never read again), and returns a :class:`StatResult`:

==============  =====================================================  ===========  =================
function        statistic                                              p-value      as in
==============  =====================================================  ===========  =================
ks              two-sample Kolmogorov-Smirnov D                        two-sided    ``ks_2samp``
chi2            chi-square goodness of fit of current to reference     yes          ``chisquare``
z_proportion    two-proportion z score (binary columns)                two-sided    Evidently ``z``
wasserstein     Wasserstein-1 distance / reference population std      None         Evidently
jensen_shannon  Jensen-Shannon distance (natural log) of frequencies   None         Evidently
psi             population stability index on reference deciles       None         Shipyard
==============  =====================================================  ===========  =================

* ``ks``: the p-value is scipy's default (``method="auto"``): exact when neither
  sample has more than 10,000 values, else asymptotic.
* ``chi2``: categories are those seen on either side; each expected count is the
  reference count scaled to the current total, as Evidently's ``chisquare`` test. A
  category the reference never had gives an infinite statistic and p-value 0.
* ``wasserstein``: divided by ``max(std, 0.001)`` of the reference (population std).
* ``jensen_shannon``: numeric columns with more than 20 distinct reference values are
  binned on ``numpy.histogram_bin_edges(reference + current, "sturges")``; other
  columns compare value frequencies.
* ``psi``: the bins of :func:`shipyard.stats.drift.psi` (the reference's quantiles
  plus open bins below and above), shares floored at 1e-4; categorical columns compare
  category shares. Evidently's PSI bins differently: its values are not comparable.

>>> r = ks([1.0, 2.0, 3.0, 4.0], [3.0, 4.0, 5.0, 6.0])
>>> r.statistic, round(r.p_value, 4)
(0.5, 0.7714)
>>> wasserstein([0.0, 2.0], [1.0, 3.0]).statistic
1.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from shipyard.core.errors import InvalidInputError
from shipyard.monitoring.profiles import (
    FEW_VALUES,
    CategoricalProfile,
    ColumnProfile,
    NumericProfile,
    profile_values,
)
from shipyard.stats.drift import PSI_EPSILON
from shipyard.stats.twosample import (
    KS_EXACT_MAX_N,
    bin_counts_sorted,
    chi2_goodness_counts,
    histogram_counts_sorted,
    js_distance,
    ks_exact,
    ks_p_value,
    ks_statistic,
    psi_counts,
    quantile_edges,
    sturges_edges,
    wasserstein_sorted,
    z_proportion_counts,
)

__all__ = ["StatResult", "chi2", "jensen_shannon", "ks", "psi", "wasserstein", "z_proportion"]

WASSERSTEIN_MIN_STD = 0.001
"""Evidently's floor on the reference std that normalises the Wasserstein distance."""


@dataclass(frozen=True)
class StatResult:
    """The outcome of one statistic: ``p_value`` is None for the distances."""

    test: str
    statistic: float
    p_value: float | None = None


def ks(reference: Any, current: Any, *, method: str = "auto") -> StatResult:
    """Two-sample Kolmogorov-Smirnov test; ``method`` is scipy's: ``"auto"``, ``"exact"`` or ``"asymp"``."""
    if method not in ("auto", "exact", "asymp"):
        raise InvalidInputError(f"method must be 'auto', 'exact' or 'asymp', got {method!r}")
    ref, cur = _numeric(reference, "reference"), _numeric(current, "current")
    exact = method == "exact" or (method == "auto" and max(ref.count, cur.count) <= KS_EXACT_MAX_N)
    if exact and not (ref.sketched or cur.sketched):
        return StatResult("ks", *ks_exact(ref.sample, cur.sample))
    statistic = ks_statistic(ref.sample, cur.sample)
    return StatResult("ks", statistic, ks_p_value(statistic, ref.count, cur.count))


def wasserstein(reference: Any, current: Any) -> StatResult:
    """Wasserstein-1 distance divided by the reference's population std (at least 0.001)."""
    ref, cur = _numeric(reference, "reference"), _numeric(current, "current")
    distance = wasserstein_sorted(ref.sample, cur.sample)
    return StatResult("wasserstein", distance / max(ref.std, WASSERSTEIN_MIN_STD))


def chi2(reference: Any, current: Any) -> StatResult:
    """Chi-square goodness of fit of the current counts to the reference shares (Evidently's)."""
    ref_counts, cur_counts, _ = aligned_counts(*_pair(reference, current, "categorical"))
    statistic, p_value, _ = chi2_goodness_counts(ref_counts, cur_counts)
    return StatResult("chi2", statistic, p_value)


def z_proportion(reference: Any, current: Any) -> StatResult:
    """Two-proportion z-test for a column with at most two values (Evidently's ``z``)."""
    ref, cur = _pair(reference, current, "categorical")
    ref_counts, cur_counts, keys = aligned_counts(ref, cur)
    if len(keys) > 2:
        raise InvalidInputError(f"z_proportion needs a binary column; this one has {len(keys)} values")
    first = _first_key(keys)
    z, p_value = z_proportion_counts(int(ref_counts[first]), ref.count, int(cur_counts[first]), cur.count)
    return StatResult("z_proportion", z, p_value)


def jensen_shannon(reference: Any, current: Any) -> StatResult:
    """Jensen-Shannon distance (natural log) of the two frequency distributions (Evidently's)."""
    ref, cur = _pair(reference, current, None)
    if isinstance(ref, NumericProfile) and isinstance(cur, NumericProfile) and ref.n_unique > FEW_VALUES:
        edges = sturges_edges(
            min(ref.min, cur.min), max(ref.max, cur.max), ref.count + cur.count, ref.integer and cur.integer
        )
        ref_counts = _scaled(histogram_counts_sorted(ref.sample, edges), ref)
        cur_counts = _scaled(histogram_counts_sorted(cur.sample, edges), cur)
    else:
        ref_counts, cur_counts, _ = aligned_counts(ref, cur)
    return StatResult("jensen_shannon", js_distance(ref_counts / ref.count, cur_counts / cur.count))


def psi(reference: Any, current: Any, bins: int = 10) -> StatResult:
    """Population stability index on the reference's quantile bins (or category shares)."""
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise InvalidInputError(f"bins must be a positive integer, got {bins!r}")
    ref, cur = _pair(reference, current, None)
    if isinstance(ref, NumericProfile) and isinstance(cur, NumericProfile):
        if ref.psi_bins == bins and ref.psi_edges.size:
            edges, ref_counts = ref.psi_edges, ref.psi_counts
        else:
            edges = quantile_edges(ref.sample, int(bins), presorted=True)
            ref_counts = bin_counts_sorted(ref.sample, edges)
        cur_counts = bin_counts_sorted(cur.sample, edges)
    else:
        ref_counts, cur_counts, _ = aligned_counts(ref, cur)
    return StatResult("psi", psi_counts(ref_counts, cur_counts, PSI_EPSILON))


# -- shared with detection and quality --------------------------------------------------


def aligned_counts(ref: ColumnProfile, cur: ColumnProfile) -> tuple[Any, Any, list[Any]]:
    """Counts of every value seen on either side, in one order: ``(ref_counts, cur_counts, keys)``."""
    if isinstance(ref, NumericProfile) and isinstance(cur, NumericProfile):
        ref_values, ref_counts = ref.frequencies()
        cur_values, cur_counts = cur.frequencies()
        union = np.union1d(ref_values, cur_values)
        return _spread(union, ref_values, ref_counts), _spread(union, cur_values, cur_counts), union.tolist()
    if isinstance(ref, CategoricalProfile) and isinstance(cur, CategoricalProfile):
        seen = set(ref.categories)
        keys = list(ref.categories) + [c for c in cur.categories if c not in seen]
        return ref.counts_for(keys), cur.counts_for(keys), keys
    raise InvalidInputError(
        f"column {ref.name!r} is {ref.kind} in the reference but {cur.kind} in the current data"
    )


def as_profile(values: Any, kind: str | None, label: str, *, strict: bool = True) -> ColumnProfile:
    """``values`` if it is a column profile, else its exact profile read as ``kind``.

    ``strict``: a given profile must be of ``kind`` too. It must hold at least one value.
    """
    profiled = isinstance(values, NumericProfile | CategoricalProfile)
    profile = values if profiled else profile_values(values, kind)
    if kind is not None and strict and profile.kind != kind:
        raise InvalidInputError(f"the {label} sample must be {kind}, not {profile.kind}")
    if profile.count == 0:
        raise InvalidInputError(f"the {label} sample has no values (missing and infinite values are dropped)")
    return profile


def _numeric(values: Any, label: str) -> NumericProfile:
    profile = as_profile(values, "numeric", label)
    assert isinstance(profile, NumericProfile)
    return profile


def _pair(reference: Any, current: Any, kind: str | None) -> tuple[ColumnProfile, ColumnProfile]:
    """Both samples profiled the same way: raw values as ``kind`` (or by type), the current one as
    the reference is. Numeric profiles are counted by value where categories are wanted."""
    ref = as_profile(reference, kind, "reference", strict=False)
    return ref, as_profile(current, ref.kind, "current")


def _spread(keys: Any, values: Any, counts: Any) -> Any:
    out = np.zeros(len(keys), dtype=np.int64)
    out[np.searchsorted(keys, values)] = counts
    return out


def _scaled(counts: Any, profile: NumericProfile) -> Any:
    """Bin counts of a sketch scaled to the column's real count."""
    if not profile.sketched:
        return counts
    return counts * (profile.count / profile.sample.size)


def _first_key(keys: list[Any]) -> int:
    """Index of the smallest key (Evidently's z-test compares the shares of the other one)."""
    try:
        return min(range(len(keys)), key=keys.__getitem__)
    except TypeError:
        return min(range(len(keys)), key=lambda i: str(keys[i]))
