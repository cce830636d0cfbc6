"""Column-by-column drift detection: which test, which threshold, drifted or not.

Default tests follow Evidently's data drift algorithm
(https://docs.evidentlyai.com/reference/data-drift-algorithm, and
``evidently/legacy/calculations/stattests/registry.py::_get_default_stattest`` in
Evidently 0.7), decided on the reference's non-missing values (``n``) and the
number of distinct values on both sides together:

===========  ==============================  ===================================  =========================
column       n <= 1000                       n > 1000                             drifted when (default)
===========  ==============================  ===================================  =========================
numeric      ks (> 5 values), chi2 (3-5),    wasserstein (> 5 values),            ks: p <= 0.05;
             z_proportion (<= 2)             jensen_shannon (<= 5)                chi2, z: p < 0.05;
categorical  chi2 (> 2 values),              jensen_shannon                       wasserstein, jensen_shannon:
             z_proportion (<= 2)                                                  statistic >= 0.1
===========  ==============================  ===================================  =========================

``psi`` is never chosen by default; asked for, it drifts when its statistic is at
least 0.2. The whole table drifts when at least ``drift_share`` (default 0.5) of
the checked columns drift, as Evidently's ``DataDriftPreset(drift_share=0.5)``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import InvalidInputError
from shipyard.monitoring import stats
from shipyard.monitoring.models import DEFAULT_DRIFT_SHARE, ColumnDrift, DriftReport
from shipyard.monitoring.profiles import CategoricalProfile, ColumnProfile, NumericProfile

if TYPE_CHECKING:
    from shipyard.monitoring.inputs import ProfileProvider

__all__ = ["ALIASES", "TESTS", "DriftTest", "choose_test", "detect_drift", "resolve_test"]

SMALL_REFERENCE = 1000  # Evidently: at most this many reference values -> statistical tests
FEW_VALUES = 5  # Evidently: a numeric column with at most this many values is tested as categories


@dataclass(frozen=True)
class DriftTest:
    """A drift test: how it is computed, what it applies to and when it says drifted."""

    name: str
    compute: Callable[[ColumnProfile, ColumnProfile], stats.StatResult]
    kinds: frozenset[str]
    default_threshold: float
    compare: str  # "p<=", "p<" or "stat>="

    def drifted(self, result: stats.StatResult, threshold: float) -> bool:
        if self.compare == "stat>=":
            return result.statistic >= threshold
        assert result.p_value is not None
        return result.p_value <= threshold if self.compare == "p<=" else result.p_value < threshold

    def check_threshold(self, value: object, column: str) -> float:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)
        number = float(value) if ok else math.nan  # type: ignore[arg-type]
        limit = 1.0 if self.compare != "stat>=" else math.inf
        if not ok or number < 0 or number > limit:
            what = "a p-value between 0 and 1" if limit == 1.0 else "a number >= 0"
            raise InvalidInputError(f"threshold for {self.name} on {column!r} must be {what}, got {value!r}")
        return number


_BOTH = frozenset({"numeric", "categorical"})
TESTS: dict[str, DriftTest] = {
    "ks": DriftTest("ks", stats.ks, frozenset({"numeric"}), 0.05, "p<="),
    "chi2": DriftTest("chi2", stats.chi2, _BOTH, 0.05, "p<"),
    "z_proportion": DriftTest("z_proportion", stats.z_proportion, _BOTH, 0.05, "p<"),
    "wasserstein": DriftTest("wasserstein", stats.wasserstein, frozenset({"numeric"}), 0.1, "stat>="),
    "jensen_shannon": DriftTest("jensen_shannon", stats.jensen_shannon, _BOTH, 0.1, "stat>="),
    "psi": DriftTest("psi", stats.psi, _BOTH, 0.2, "stat>="),
}
ALIASES = {
    "z": "z_proportion",
    "chisquare": "chi2",
    "jensenshannon": "jensen_shannon",
    "js": "jensen_shannon",
}
"""Evidently's names for the same tests."""


def resolve_test(name: object) -> DriftTest:
    """The test called ``name`` (Evidently's names accepted); InvalidInputError listing the known ones."""
    key = ALIASES.get(name, name) if isinstance(name, str) else name
    if not isinstance(key, str) or key not in TESTS:
        known = ", ".join([*TESTS, *ALIASES])
        raise InvalidInputError(
            f"unknown drift test {name!r}; known tests: {known}", details={"known": known}
        )
    return TESTS[key]


def choose_test(reference: ColumnProfile, current: ColumnProfile) -> str:
    """The default test for a column (module docstring)."""
    n_values = _distinct_on_both_sides(reference, current)
    small = reference.count <= SMALL_REFERENCE
    if isinstance(reference, NumericProfile) and n_values > FEW_VALUES:
        return "ks" if small else "wasserstein"
    if small:
        return "chi2" if n_values > 2 else "z_proportion"
    return "jensen_shannon"


def detect_drift(
    reference: ProfileProvider,
    current: ProfileProvider,
    columns: list[str] | None = None,
    tests: str | Mapping[str, str] | None = None,
    thresholds: float | Mapping[str, float] | None = None,
    drift_share: float = DEFAULT_DRIFT_SHARE,
    workers: int | None = None,
) -> DriftReport:
    """Check each column of ``reference`` against the same column of ``current``.

    ``tests`` and ``thresholds`` are one value for every column or a dict by column
    (columns left out use the default rule / the test's default threshold).
    Without ``columns``, every supported column found on both sides is checked,
    except free-text ones; ``workers`` threads check columns in parallel.
    """
    if isinstance(drift_share, bool) or not isinstance(drift_share, int | float) or not 0 <= drift_share <= 1:
        raise InvalidInputError(f"drift_share must be between 0 and 1, got {drift_share!r}")
    chosen, missing, skipped = _columns(reference, current, columns)
    _check_keys("tests", tests, chosen)
    _check_keys("thresholds", thresholds, chosen)
    explicit = columns is not None

    def check(name: str) -> ColumnDrift | str:
        return _check_column(reference, current, name, _pick(tests, name), _pick(thresholds, name), explicit)

    count = workers or min(len(chosen), os.cpu_count() or 1, 8)
    if count > 1 and len(chosen) > 1:
        with ThreadPoolExecutor(max_workers=count, thread_name_prefix="shipyard-drift") as pool:
            outcomes = list(pool.map(check, chosen))
    else:
        outcomes = [check(name) for name in chosen]
    results = tuple(o for o in outcomes if isinstance(o, ColumnDrift))
    skipped.update({name: o for name, o in zip(chosen, outcomes, strict=True) if isinstance(o, str)})
    return DriftReport(results, float(drift_share), tuple(missing), skipped)


def _check_column(
    reference: ProfileProvider,
    current: ProfileProvider,
    name: str,
    test_name: str | None,
    threshold: float | None,
    explicit: bool,
) -> ColumnDrift | str:
    """The drift of one column, or why it was left out (free text, when not asked for)."""
    ref = reference.profile(name)
    if isinstance(ref, CategoricalProfile) and ref.text and test_name is None and not explicit:
        return f"free text ({ref.n_unique:,} distinct values in {ref.count:,})"
    cur = current.profile(name, like=ref)
    for label, side in (("reference", ref), ("current data", cur)):
        if side.count == 0:
            raise InvalidInputError(f"column {name!r} has no values in the {label} (all missing)")
    test = resolve_test(test_name if test_name is not None else choose_test(ref, cur))
    if ref.kind not in test.kinds:
        raise InvalidInputError(f"{test.name} needs a numeric column; {name!r} is {ref.kind}")
    limit = test.default_threshold if threshold is None else test.check_threshold(threshold, name)
    result = test.compute(ref, cur)
    return ColumnDrift(
        name, ref.kind, test.name, result.statistic, result.p_value, limit, test.drifted(result, limit)
    )


def _columns(
    reference: ProfileProvider, current: ProfileProvider, columns: list[str] | None
) -> tuple[list[str], list[str], dict[str, str]]:
    """(columns to check, reference columns the current data lacks, unsupported columns left out)."""
    present = set(current.names)
    if columns is not None:
        if isinstance(columns, str) or not all(isinstance(c, str) for c in columns):
            raise InvalidInputError("columns must be a list of column names")
        absent = [c for c in columns if c not in reference.names]
        lacking = [c for c in columns if c in reference.names and c not in present]
        if absent or lacking:
            parts = [f"not in the reference: {', '.join(absent)}"] if absent else []
            parts += [f"not in the current data: {', '.join(lacking)}"] if lacking else []
            raise InvalidInputError(f"cannot check columns {'; '.join(parts)}")
        for name in columns:
            why = reference.unsupported(name)
            if why is not None:
                raise InvalidInputError(f"column {name!r} cannot be checked: {why}")
        return list(dict.fromkeys(columns)), [], {}
    skipped = {n: why for n in reference.names if (why := reference.unsupported(n)) is not None}
    chosen = [n for n in reference.names if n in present and n not in skipped]
    missing = [n for n in reference.names if n not in present and n not in skipped]
    return chosen, missing, skipped


def _check_keys(label: str, value: object, chosen: list[str]) -> None:
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in chosen]
        if unknown:
            raise InvalidInputError(
                f"{label} names columns that are not checked: {', '.join(map(str, unknown))}"
            )


def _pick(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, Mapping) else value


def _distinct_on_both_sides(reference: ColumnProfile, current: ColumnProfile) -> int:
    if isinstance(reference, NumericProfile) and reference.n_unique > FEW_VALUES:
        return reference.n_unique
    return len(stats.aligned_counts(reference, current)[2])
