"""Multivariate drift: can a classifier tell the reference rows from the current ones?

A domain classifier (scikit-learn's ``HistGradientBoostingClassifier``, categorical
columns as native categories) is trained to separate up to ``max_rows`` rows sampled
from each side, and scored by stratified k-fold cross-validated ROC AUC (on one thread: the sample is
capped, so the cost is bounded, and OpenMP threads spin on a busy machine). An AUC near
0.5 means the two samples look alike, jointly, not just column by column; the data
drifted when the AUC reaches ``threshold`` (default 0.55, Evidently's default for
its domain-classifier drift on more than 1000 rows).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.core.errors import InvalidInputError
from shipyard.monitoring.models import DomainClassifierResult
from shipyard.monitoring.profiles import column_kind

if TYPE_CHECKING:
    from shipyard.monitoring.sources import ColumnSource

__all__ = ["DEFAULT_AUC_THRESHOLD", "domain_classifier"]

DEFAULT_AUC_THRESHOLD = 0.55
MAX_CATEGORIES = 250  # HistGradientBoosting's native categories; more are given as plain codes


def domain_classifier(
    reference: ColumnSource,
    current: ColumnSource,
    columns: list[str] | None = None,
    *,
    max_rows: int = 10_000,
    folds: int = 5,
    threshold: float = DEFAULT_AUC_THRESHOLD,
    seed: int = 0,
) -> DomainClassifierResult:
    """Train and cross-validate the domain classifier on the shared columns (see the module docstring)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    _check_options(max_rows, folds, threshold)
    names = _shared_columns(reference, current, columns)
    rng = np.random.default_rng(seed)
    ref_rows = _sample_rows(reference.num_rows, max_rows, rng)
    cur_rows = _sample_rows(current.num_rows, max_rows, rng)
    if min(ref_rows.size, cur_rows.size) < folds:
        raise InvalidInputError(f"each side needs at least {folds} rows for {folds}-fold cross-validation")
    features, categorical = [], []
    for name in names:
        ref, cur = reference.column(name).take(ref_rows), current.column(name).take(cur_rows)
        feature, is_category = _feature(name, ref, cur)
        features.append(feature)
        categorical.append(is_category)
    x = np.column_stack(features)
    y = np.concatenate([np.zeros(ref_rows.size, dtype=np.int8), np.ones(cur_rows.size, dtype=np.int8)])
    model = HistGradientBoostingClassifier(
        max_iter=100, categorical_features=np.array(categorical, dtype=bool), random_state=seed
    )
    splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with threadpool_limits(limits=1):  # OpenMP threads spin badly on a busy machine; the sample is capped
        scores = cross_val_score(model, x, y, cv=splits, scoring="roc_auc")
    auc = float(np.mean(scores))
    return DomainClassifierResult(
        auc, float(np.std(scores)), threshold, auc >= threshold, ref_rows.size, cur_rows.size, tuple(names)
    )


def _check_options(max_rows: int, folds: int, threshold: float) -> None:
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 2:
        raise InvalidInputError(f"max_rows must be an integer >= 2, got {max_rows!r}")
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise InvalidInputError(f"folds must be an integer >= 2, got {folds!r}")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        raise InvalidInputError(f"threshold must be an AUC between 0 and 1, got {threshold!r}")


def _shared_columns(reference: ColumnSource, current: ColumnSource, columns: list[str] | None) -> list[str]:
    present = set(current.names)
    if columns is not None:
        absent = [c for c in columns if c not in reference.names or c not in present]
        if absent:
            raise InvalidInputError(
                f"columns missing from the reference or the current data: {', '.join(absent)}"
            )
        names = list(columns)
    else:
        names = [n for n in reference.names if n in present]
    usable = [n for n in names if column_kind(reference.type(n)) is not None]
    if columns is not None and len(usable) < len(names):
        bad = ", ".join(n for n in names if n not in usable)
        raise InvalidInputError(f"columns of unsupported types: {bad}")
    if not usable:
        raise InvalidInputError(
            "no numeric or categorical column is shared by the reference and the current data"
        )
    return usable


def _sample_rows(n_rows: int, max_rows: int, rng: np.random.Generator) -> Any:
    if n_rows <= max_rows:
        return np.arange(n_rows)
    return np.sort(rng.choice(n_rows, size=max_rows, replace=False))


def _feature(name: str, ref: Any, cur: Any) -> tuple[Any, bool]:
    """One feature column over both samples: floats (NaN missing) or category codes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column_kind(ref.type)
    numeric = kind == "numeric" or (kind == "integer" and pa.types.is_integer(cur.type))
    if numeric:
        try:
            return np.concatenate([_floats(ref), _floats(cur)]), False
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InvalidInputError(
                f"column {name!r} is numeric in the reference but not in the current data"
            ) from exc
    both = pa.chunked_array(
        [pc.cast(chunk, pa.string()) for chunk in (*ref.chunks, *cur.chunks)], type=pa.string()
    ).combine_chunks()
    encoded = both.dictionary_encode()
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.float64)  # null -> NaN
    return codes, len(encoded.dictionary) <= MAX_CATEGORIES


def _floats(column: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    return pc.cast(column, pa.float64()).to_numpy()
