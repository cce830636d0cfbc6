"""Evaluate a model on a data frame: metrics, per-slice metrics, fairness gaps and plots.

``model`` is anything with ``predict(frame)`` and, for classifiers, ``predict_proba(frame)``:
a :class:`~shipyard.models.package.LoadedModel`, a scikit-learn estimator, a small class in a
test. The frame holds the features and the ``target`` column; the target is dropped before
the model sees the frame (slice columns are kept: they are often features).

>>> import numpy as np, pandas as pd
>>> class Threshold:
...     classes_ = [0, 1]
...     def predict(self, df): return (df["x"] > 0.5).astype(int).to_numpy()
...     def predict_proba(self, df): return np.column_stack([1 - df["x"], df["x"]])
>>> frame = pd.DataFrame({"x": [0.1, 0.4, 0.6, 0.9], "y": [0, 1, 1, 1], "g": ["a", "a", "b", "b"]})
>>> result = evaluate_frame(Threshold(), frame, "y", slices=["g"], plots=False)
>>> result.metrics["accuracy"], result.confusion_matrix
(0.75, [[1, 0], [1, 2]])
>>> result.fairness["g"]["demographic_parity_difference"]
1.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from shipyard.core.errors import InvalidInputError
from shipyard.models.metrics import Scored, classification_metrics, counts, fairness_gaps, regression_metrics

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

Task = Literal["classification", "regression"]
CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "brier")
REGRESSION_METRICS = ("rmse", "mae", "r2", "mape")
MISSING = "<NA>"  # the slice value of rows where the slice column is missing
FAIRNESS_METRICS = ("demographic_parity_difference", "equal_opportunity_difference")


@dataclass
class EvaluationResult:
    """What :func:`evaluate_frame` measured.

    ``slices`` is ``{column: {value as string: {metric: value}}}``; ``fairness`` is
    ``{column: {"demographic_parity_difference": ..., "equal_opportunity_difference": ...}}``
    (classification only); ``plots`` maps a file name (``roc.png``...) to PNG bytes;
    ``labels`` are the classes in the order of the confusion matrix's rows and columns;
    ``notes`` say why a metric is NaN (e.g. ROC AUC with a single class).
    """

    metrics: dict[str, float]
    confusion_matrix: list[list[int]] | None
    slices: dict[str, dict[str, dict[str, float]]]
    fairness: dict[str, dict[str, float]]
    plots: dict[str, bytes]
    n_rows: int
    labels: list[Any] | None
    notes: list[str] = field(default_factory=list)


def evaluate_frame(
    model: Any,
    frame: Any,
    target: str,
    task: Task = "classification",
    slices: Sequence[str] | None = None,
    *,
    plots: bool = True,
) -> EvaluationResult:
    """Score ``model`` on ``frame`` against its ``target`` column; see the module docstring.

    Raises ``InvalidInputError`` naming the problem: a missing target or slice column, an
    empty frame, NULL targets, a non-numeric target for regression, labels the model does
    not know, predictions of the wrong length.
    """
    df = _as_frame(frame)
    slice_columns = _check_frame(df, target, task, slices)
    features = df.drop(columns=[target])
    groups = {column: _group_codes(df[column]) for column in slice_columns}
    if task == "classification":
        return _evaluate_classification(model, features, df[target], groups, plots)
    return _evaluate_regression(model, features, df[target], groups, plots)


def _as_frame(frame: Any) -> pd.DataFrame:
    import pandas as pd

    if isinstance(frame, pd.DataFrame):
        return frame
    if hasattr(frame, "to_pandas"):
        converted = frame.to_pandas()
        if isinstance(converted, pd.DataFrame):
            return converted
    raise InvalidInputError(f"cannot evaluate on a {type(frame).__name__}: pass a pandas DataFrame")


def _check_frame(df: pd.DataFrame, target: str, task: str, slices: Sequence[str] | None) -> list[str]:
    import pandas as pd

    if task not in ("classification", "regression"):
        raise InvalidInputError(f"unknown task {task!r}: use 'classification' or 'regression'")
    if target not in df.columns:
        raise InvalidInputError(f"target column {target!r} is not in the data (columns: {list(df.columns)})")
    if isinstance(slices, str):
        slices = [slices]
    slice_columns = list(dict.fromkeys(slices or []))
    missing = [column for column in slice_columns if column not in df.columns]
    if missing:
        raise InvalidInputError(
            f"slice column(s) {missing} are not in the data (columns: {list(df.columns)})"
        )
    if len(df) == 0:
        raise InvalidInputError("cannot evaluate on an empty frame: it has no rows")
    nulls = int(df[target].isna().sum())
    if nulls:
        raise InvalidInputError(f"target column {target!r} has {nulls} NULL value(s)")
    column = df[target]
    if task == "regression" and (pd.api.types.is_bool_dtype(column) or not is_numeric(column)):
        raise InvalidInputError(
            f"regression needs a numeric target, but {target!r} has dtype {column.dtype}; "
            "use task='classification' for labels"
        )
    return slice_columns


def is_numeric(column: Any) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(column))


def _group_codes(column: pd.Series[Any]) -> tuple[list[str], npt.NDArray[np.intp]]:
    """The distinct values of a slice column as strings (missing ones as ``<NA>``), and each row's index."""
    import numpy as np
    import pandas as pd

    raw_codes, uniques = pd.factorize(column, use_na_sentinel=True)  # hashes once; strings only per value
    spelled = np.append(np.asarray(pd.Index(uniques).astype(str), dtype=object), MISSING)
    names, merged = np.unique(spelled, return_inverse=True)  # sorted; values spelled alike are one group
    codes = merged[np.where(raw_codes < 0, len(uniques), raw_codes)]
    used = np.bincount(codes, minlength=len(names)) > 0  # MISSING only if a value is missing
    renumber = np.cumsum(used) - 1
    return [str(name) for name in names[used]], renumber[codes].astype(np.intp)


def _split(codes: npt.NDArray[np.intp], n_groups: int) -> list[npt.NDArray[np.intp]]:
    """Row indices of each group, in one sort instead of one scan per group."""
    import numpy as np

    order = np.argsort(codes, kind="stable")
    bounds = np.cumsum(np.bincount(codes, minlength=n_groups))[:-1]
    return list(np.split(order, bounds))


# -- classification --------------------------------------------------------------------------


def _evaluate_classification(
    model: Any,
    features: pd.DataFrame,
    truth: pd.Series[Any],
    groups: dict[str, tuple[list[str], npt.NDArray[np.intp]]],
    with_plots: bool,
) -> EvaluationResult:
    from shipyard.models import plots as charts

    notes: list[str] = []
    scored = score_classifier(model, features, truth, notes)
    metrics = classification_metrics(scored, notes, where="")
    slice_metrics: dict[str, dict[str, dict[str, float]]] = {}
    fairness: dict[str, dict[str, float]] = {}
    for column, (names, codes) in groups.items():
        parts = _split(codes, len(names))
        slice_metrics[column] = {
            name: _slice_classification(scored.take(rows), notes, f"{column}={name}")
            for name, rows in zip(names, parts, strict=True)
        }
        fairness[column] = fairness_gaps(scored, codes, len(names))
    rendered: dict[str, bytes] = {}
    if with_plots:
        rendered = charts.classification_plots(scored.truth, scored.proba, _confusion(scored), scored.classes)
    return EvaluationResult(
        metrics=metrics,
        confusion_matrix=_confusion(scored),
        slices=slice_metrics,
        fairness=fairness,
        plots=rendered,
        n_rows=len(truth),
        labels=list(scored.classes),
        notes=list(dict.fromkeys(notes)),
    )


def score_classifier(model: Any, features: pd.DataFrame, truth: pd.Series[Any], notes: list[str]) -> Scored:
    """Run the model once and encode truth and predictions as indices into the class list."""
    import numpy as np
    import pandas as pd

    predicted = _one_column(model.predict(features), len(features), "predict")
    proba, proba_classes = _probabilities(model, features, notes)
    classes = _classes(model, proba_classes, truth.to_numpy(), predicted, proba)
    index = pd.Index(classes)
    truth_codes = np.asarray(index.get_indexer(truth.to_numpy()), dtype=np.intp)
    if (truth_codes < 0).any():
        unknown = sorted({str(v) for v in truth.to_numpy()[truth_codes < 0]})[:10]
        raise InvalidInputError(
            f"the target has label(s) {unknown} the model does not know (classes: {classes})"
        )
    pred_codes = np.asarray(index.get_indexer(predicted), dtype=np.intp)
    if (pred_codes < 0).any():
        unknown = sorted({str(v) for v in predicted[pred_codes < 0]})[:10]
        raise InvalidInputError(f"the model predicted label(s) {unknown} outside its classes {classes}")
    return Scored(truth_codes, pred_codes, proba, classes)


def _one_column(values: Any, n_rows: int, method: str) -> npt.NDArray[Any]:
    import numpy as np
    import pandas as pd

    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise InvalidInputError(f"{method}() returned {values.shape[1]} columns; expected one")
        values = values.iloc[:, 0]
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1 or len(array) != n_rows:
        raise InvalidInputError(f"{method}() returned shape {array.shape} for {n_rows} rows")
    return array


def _probabilities(
    model: Any, features: pd.DataFrame, notes: list[str]
) -> tuple[npt.NDArray[np.float64] | None, list[Any] | None]:
    """``predict_proba`` as an (n, k) float array, and its columns' classes when it names them."""
    import numpy as np
    import pandas as pd

    method = getattr(model, "predict_proba", None)
    if method is None:
        notes.append("the model has no predict_proba: roc_auc, log_loss and brier are NaN")
        return None, None
    values = method(features)
    columns = [_plain(c) for c in values.columns] if isinstance(values, pd.DataFrame) else None
    proba = np.asarray(values, dtype=np.float64)
    if proba.ndim == 1:
        proba = np.column_stack([1.0 - proba, proba])
    if proba.ndim != 2 or len(proba) != len(features):
        raise InvalidInputError(f"predict_proba() returned shape {proba.shape} for {len(features)} rows")
    if not np.isfinite(proba).all():
        raise InvalidInputError("predict_proba() returned NaN or infinite probabilities")
    return proba, columns


def _classes(
    model: Any,
    named: list[Any] | None,
    truth: npt.NDArray[Any],
    predicted: npt.NDArray[Any],
    proba: npt.NDArray[np.float64] | None,
) -> list[Any]:
    """The class order: from the probability frame, the model, or the sorted labels seen."""
    import numpy as np

    declared = named or getattr(model, "classes_", None)
    if declared is None:
        declared = getattr(getattr(model, "descriptor", None), "classes", None)
    if declared is not None:
        classes = [_plain(c) for c in declared]
    else:
        seen = list({_plain(v) for v in np.concatenate([truth, predicted])})
        try:
            classes = sorted(seen)
        except TypeError:
            classes = sorted(seen, key=str)
    if proba is not None and proba.shape[1] != len(classes):
        raise InvalidInputError(
            f"predict_proba() returned {proba.shape[1]} columns but there are {len(classes)} classes "
            f"{classes}; the model must expose its classes (classes_ or descriptor.classes)"
        )
    return classes


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python scalar it holds (JSON-friendly)."""
    return value.item() if hasattr(value, "item") and not isinstance(value, str | bytes) else value


def _confusion(scored: Scored) -> list[list[int]]:
    return [[int(cell) for cell in row] for row in counts(scored)]


def _slice_classification(scored: Scored, notes: list[str], where: str) -> dict[str, float]:
    import numpy as np

    result = classification_metrics(scored, notes, where)
    result["n_rows"] = float(len(scored.truth))
    if scored.binary:
        positives = scored.truth == 1
        result["positive_rate"] = float(np.mean(scored.pred == 1))
        result["true_positive_rate"] = (
            float(np.mean(scored.pred[positives] == 1)) if positives.any() else math.nan
        )
    return result


# -- regression ------------------------------------------------------------------------------


def _evaluate_regression(
    model: Any,
    features: pd.DataFrame,
    truth: pd.Series[Any],
    groups: dict[str, tuple[list[str], npt.NDArray[np.intp]]],
    with_plots: bool,
) -> EvaluationResult:
    import numpy as np

    from shipyard.models import plots as charts

    notes: list[str] = []
    actual = truth.to_numpy(dtype=np.float64)
    predicted = _one_column(model.predict(features), len(features), "predict")
    try:
        predicted = predicted.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"predict() returned non-numeric values for regression: {exc}") from exc
    if not np.isfinite(predicted).all():
        raise InvalidInputError("predict() returned NaN or infinite values")
    slice_metrics: dict[str, dict[str, dict[str, float]]] = {}
    for column, (names, codes) in groups.items():
        slice_metrics[column] = {
            name: {
                **regression_metrics(actual[rows], predicted[rows], notes, f"{column}={name}"),
                "n_rows": float(len(rows)),
            }
            for name, rows in zip(names, _split(codes, len(names)), strict=True)
        }
    return EvaluationResult(
        metrics=regression_metrics(actual, predicted, notes, ""),
        confusion_matrix=None,
        slices=slice_metrics,
        fairness={},
        plots={"residuals.png": charts.residuals_png(actual, predicted)} if with_plots else {},
        n_rows=len(actual),
        labels=None,
        notes=list(dict.fromkeys(notes)),
    )
