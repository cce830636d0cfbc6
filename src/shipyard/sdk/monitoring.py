"""The functions behind ``sy.monitoring``: drift, data quality and reference profiles.

Each is one call of the workspace's :class:`~shipyard.monitoring.service.MonitoringService`.
Data may be a pandas DataFrame, an Arrow table, a path to Parquet files, a dataset
reference ``"name@3"`` or (as a reference) a
:class:`~shipyard.monitoring.profiles.ReferenceProfile`. A dataset reference's profile
is built once and kept in the content store, so later checks against it read only the
current data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shipyard.workspace import current_workspace

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.monitoring.models import DomainClassifierResult
    from shipyard.monitoring.profiles import ReferenceProfile

__all__ = ["data_quality", "drift", "multivariate_drift", "profile"]


def drift(
    reference: Any,
    current: Any,
    columns: list[str] | None = None,
    tests: str | Mapping[str, str] | None = None,
    thresholds: float | Mapping[str, float] | None = None,
    drift_share: float = 0.5,
) -> pd.DataFrame:
    """Per-column drift of ``current`` from ``reference``: a DataFrame with columns ``column, test,
    statistic, p_value, threshold, drifted`` (``p_value`` NaN for the distances).

    ``tests`` / ``thresholds``: one for every column or a dict by column; by default each
    column gets Evidently's default test (see :mod:`shipyard.monitoring.detection`).
    ``frame.attrs["drifted"]`` is True when at least ``drift_share`` of the columns drifted;
    ``attrs`` also hold ``share_drifted``, ``n_drifted``, ``n_columns``, ``drift_share``,
    ``missing_columns`` (reference columns the current data lacks) and ``skipped``.
    """
    report = current_workspace().monitoring.drift(reference, current, columns, tests, thresholds, drift_share)
    return report.to_frame()


def data_quality(
    reference: Any,
    current: Any,
    columns: list[str] | None = None,
    max_null_increase: float = 0.05,
    max_out_of_range: float = 0.01,
    max_unseen: float = 0.0,
) -> pd.DataFrame:
    """Null-rate jumps, values outside the reference's range and unseen categories, per column:
    a DataFrame with columns ``column, check, reference, current, threshold, failed, detail``;
    ``frame.attrs["failed"]`` is True when any check failed."""
    from shipyard.monitoring.models import QualityLimits
    from shipyard.monitoring.quality import quality_frame

    limits = QualityLimits(max_null_increase, max_out_of_range, max_unseen)
    return quality_frame(current_workspace().monitoring.data_quality(reference, current, columns, limits))


def multivariate_drift(
    reference: Any,
    current: Any,
    columns: list[str] | None = None,
    max_rows: int = 10_000,
    folds: int = 5,
    threshold: float = 0.55,
    seed: int = 0,
) -> DomainClassifierResult:
    """Cross-validated ROC AUC of a classifier telling reference rows from current rows
    (up to ``max_rows`` sampled from each side); drifted when it reaches ``threshold``."""
    return current_workspace().monitoring.multivariate_drift(
        reference, current, columns, max_rows=max_rows, folds=folds, threshold=threshold, seed=seed
    )


def profile(data: Any, columns: list[str] | None = None) -> ReferenceProfile:
    """The reference profile of ``data``; for a dataset reference, the one kept in the content store
    (built and stored on first use)."""
    return current_workspace().monitoring.profile(data, columns)
