"""Data quality of a window against its reference profile.

Three checks per column, each from the reference's stored profile (the reference is
not read again):

=================  ======================================================  ==================
check              figure (reference / current)                            fails when
=================  ======================================================  ==================
null_rate          share of missing values (null or NaN)                   current - reference
                                                                           > max_null_increase
out_of_range       numeric: share of current values outside the            current
                   reference's [min, max] (infinite values count outside)  > max_out_of_range
unseen_categories  categorical: share of current values in categories      current
                   the reference never had                                 > max_unseen
=================  ======================================================  ==================

A column of the reference that the current data lacks is reported as
``missing_column`` (always failed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.core.errors import InvalidInputError
from shipyard.monitoring.models import QualityCheck, QualityLimits
from shipyard.monitoring.profiles import CategoricalProfile, ColumnProfile, NumericProfile

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.monitoring.inputs import ProfileProvider

__all__ = ["check_quality", "quality_frame"]

MAX_LISTED = 10


def check_quality(
    reference: ProfileProvider,
    current: ProfileProvider,
    columns: list[str] | None = None,
    limits: QualityLimits | None = None,
) -> list[QualityCheck]:
    """Every check of every (chosen) reference column, in column order."""
    limits = limits or QualityLimits()
    present = set(current.names)
    names = [n for n in reference.names if reference.unsupported(n) is None]
    if columns is not None:
        unknown = [c for c in columns if c not in names]
        if unknown:
            raise InvalidInputError(f"the reference has no checkable column {', '.join(unknown)}")
        names = list(columns)
    out: list[QualityCheck] = []
    for name in names:
        if name not in present:
            out.append(
                QualityCheck(name, "missing_column", None, None, None, True, "not in the current data")
            )
            continue
        ref = reference.profile(name)
        cur = current.profile(name, like=ref)
        out.append(_null_rate(ref, cur, limits.max_null_increase))
        if isinstance(ref, NumericProfile) and isinstance(cur, NumericProfile):
            out.append(_out_of_range(ref, cur, limits.max_out_of_range))
        elif isinstance(ref, CategoricalProfile) and isinstance(cur, CategoricalProfile):
            out.append(_unseen(ref, cur, limits.max_unseen))
    return out


def quality_frame(checks: list[QualityCheck]) -> pd.DataFrame:
    """The checks as a DataFrame: ``column, check, reference, current, threshold, failed, detail``."""
    import pandas as pd

    fields = ("column", "check", "reference", "current", "threshold", "failed", "detail")
    frame = pd.DataFrame({f: pd.Series([getattr(c, f) for c in checks], dtype=object) for f in fields})
    for name in ("reference", "current", "threshold"):
        frame[name] = frame[name].astype("float64")
    frame["failed"] = frame["failed"].astype(bool)
    frame.attrs["failed"] = bool(frame["failed"].any())
    return frame


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _null_rate(ref: ColumnProfile, cur: ColumnProfile, limit: float) -> QualityCheck:
    before, now = _rate(ref.n_missing, ref.n_rows), _rate(cur.n_missing, cur.n_rows)
    detail = f"{cur.n_missing:,} of {cur.n_rows:,} values missing"
    return QualityCheck(ref.name, "null_rate", before, now, limit, now - before > limit, detail)


def _out_of_range(ref: NumericProfile, cur: NumericProfile, limit: float) -> QualityCheck:
    values = cur.sample
    below = int(np.searchsorted(values, ref.min, side="left")) if ref.count else 0
    above = int(values.size - np.searchsorted(values, ref.max, side="right")) if ref.count else 0
    if cur.sketched:  # a sketch stands for count / size values each
        below, above = round(below * cur.count / values.size), round(above * cur.count / values.size)
    outside = below + above + (cur.n_infinite if ref.n_infinite == 0 else 0)
    share = _rate(outside, cur.count + cur.n_infinite)
    detail = f"{below:,} below {ref.min:g}, {above:,} above {ref.max:g}"
    if cur.n_infinite and ref.n_infinite == 0:
        detail += f", {cur.n_infinite:,} infinite"
    return QualityCheck(ref.name, "out_of_range", 0.0, share, limit, share > limit, detail)


def _unseen(ref: CategoricalProfile, cur: CategoricalProfile, limit: float) -> QualityCheck:
    known = set(ref.categories)
    new = [(c, int(n)) for c, n in zip(cur.categories, cur.counts, strict=True) if c not in known]
    share = _rate(sum(n for _, n in new), cur.count)
    listed: list[Any] = [c for c, _ in sorted(new, key=lambda item: -item[1])[:MAX_LISTED]]
    detail = f"{len(new)} unseen: {', '.join(map(repr, listed))}" if new else ""
    if len(new) > MAX_LISTED:
        detail += ", ..."
    return QualityCheck(ref.name, "unseen_categories", 0.0, share, limit, share > limit, detail)
