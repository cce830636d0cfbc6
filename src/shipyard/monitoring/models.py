"""The records of monitoring's statistics: drift reports, quality checks, domain-classifier results.

Plain frozen dataclasses; :meth:`DriftReport.to_frame` is the DataFrame ``sy.monitoring.drift``
returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_DRIFT_SHARE",
    "ColumnDrift",
    "DomainClassifierResult",
    "DriftReport",
    "QualityCheck",
    "QualityLimits",
]

DEFAULT_DRIFT_SHARE = 0.5


@dataclass(frozen=True)
class ColumnDrift:
    """The drift check of one column."""

    column: str
    kind: str
    test: str
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool


@dataclass(frozen=True)
class DriftReport:
    """Per-column results; the table drifted when at least ``drift_share`` of its columns did."""

    columns: tuple[ColumnDrift, ...]
    drift_share: float = DEFAULT_DRIFT_SHARE
    missing_columns: tuple[str, ...] = ()
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def n_drifted(self) -> int:
        return sum(c.drifted for c in self.columns)

    @property
    def share_drifted(self) -> float:
        return self.n_drifted / len(self.columns) if self.columns else 0.0

    @property
    def drifted(self) -> bool:
        return bool(self.columns) and self.share_drifted >= self.drift_share

    def summary(self) -> dict[str, Any]:
        """The table-level figures (also the ``attrs`` of :meth:`to_frame`)."""
        return {
            "drifted": self.drifted,
            "share_drifted": self.share_drifted,
            "drift_share": self.drift_share,
            "n_drifted": self.n_drifted,
            "n_columns": len(self.columns),
            "missing_columns": list(self.missing_columns),
            "skipped": dict(self.skipped),
        }

    def to_frame(self) -> pd.DataFrame:
        """Columns ``column, test, statistic, p_value, threshold, drifted``; :meth:`summary` as ``attrs``."""
        import pandas as pd

        frame = pd.DataFrame(
            {
                "column": pd.Series([c.column for c in self.columns], dtype=object),
                "test": pd.Series([c.test for c in self.columns], dtype=object),
                "statistic": pd.Series([c.statistic for c in self.columns], dtype="float64"),
                "p_value": pd.Series([c.p_value for c in self.columns], dtype="float64"),
                "threshold": pd.Series([c.threshold for c in self.columns], dtype="float64"),
                "drifted": pd.Series([c.drifted for c in self.columns], dtype=bool),
            }
        )
        frame.attrs.update(self.summary())
        return frame


@dataclass(frozen=True)
class QualityLimits:
    """How much worse than the reference a window may be."""

    max_null_increase: float = 0.05
    max_out_of_range: float = 0.01
    max_unseen: float = 0.0

    def __post_init__(self) -> None:
        for name in ("max_null_increase", "max_out_of_range", "max_unseen"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise InvalidInputError(f"{name} must be a share between 0 and 1, got {value!r}")


@dataclass(frozen=True)
class QualityCheck:
    """One check of one column: the reference's and the current figure, the limit, the verdict."""

    column: str
    check: str
    reference: float | None
    current: float | None
    threshold: float | None
    failed: bool
    detail: str = ""


@dataclass(frozen=True)
class DomainClassifierResult:
    """Cross-validated ROC AUC of the reference-vs-current classifier."""

    roc_auc: float
    roc_auc_std: float
    threshold: float
    drifted: bool
    n_reference: int
    n_current: int
    columns: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "roc_auc": self.roc_auc,
            "roc_auc_std": self.roc_auc_std,
            "threshold": self.threshold,
            "drifted": self.drifted,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "columns": list(self.columns),
        }
