"""Metrics on arrays: classification (from class indices and probabilities), fairness gaps, regression.

:func:`~shipyard.models.evaluation.evaluate_frame` encodes a classifier's labels as indices
into its class list (:class:`Scored`) and calls these; each agrees with ``sklearn.metrics``
(count-based ones are read off one confusion matrix instead of a pass per metric).

>>> import numpy as np
>>> scored = Scored(np.array([0, 1, 1]), np.array([0, 1, 0]), None, ["no", "yes"])
>>> classification_metrics(scored, [], where="")["recall"]
0.5
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


@dataclass(frozen=True)
class Scored:
    """Classifier outputs with every label encoded as its index in ``classes``."""

    truth: npt.NDArray[np.intp]
    pred: npt.NDArray[np.intp]
    proba: npt.NDArray[np.float64] | None
    classes: list[Any]

    @property
    def binary(self) -> bool:
        return len(self.classes) == 2

    def take(self, rows: npt.NDArray[np.intp]) -> Scored:
        proba = None if self.proba is None else self.proba[rows]
        return Scored(self.truth[rows], self.pred[rows], proba, self.classes)


def counts(scored: Scored) -> npt.NDArray[np.int64]:
    """The confusion matrix (rows actual, columns predicted, in class order) in one bincount."""
    import numpy as np

    k = len(scored.classes)
    return np.bincount(scored.truth * k + scored.pred, minlength=k * k).reshape(k, k)


def classification_metrics(scored: Scored, notes: list[str], where: str) -> dict[str, float]:
    """Accuracy, precision, recall, F1, ROC AUC, log loss, Brier (binary: positive = classes[1])."""
    from sklearn.metrics import log_loss

    result = {**count_metrics(counts(scored), scored.binary), "roc_auc": math.nan}
    result.update(log_loss=math.nan, brier=math.nan)
    if scored.proba is not None:
        result["roc_auc"] = _roc_auc(scored, notes, where)
        labels = list(range(len(scored.classes)))
        result["log_loss"] = float(log_loss(scored.truth, scored.proba, labels=labels))
        result["brier"] = brier(scored)
    return result


def count_metrics(matrix: npt.NDArray[np.int64], binary: bool) -> dict[str, float]:
    """Accuracy, and precision, recall and F1 of classes[1] (binary) or their macro averages.

    Read off the confusion matrix, the same numbers as ``sklearn.metrics`` with
    ``zero_division=0`` (a class never predicted has precision 0) without a pass per metric.
    """
    import numpy as np

    hits = np.diag(matrix).astype(np.float64)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    scores = {
        "precision": _ratio(hits, predicted),
        "recall": _ratio(hits, actual),
        "f1": _ratio(2 * hits, predicted + actual),
    }
    result = {"accuracy": float(hits.sum() / matrix.sum())}
    result.update({name: float(v[1] if binary else v.mean()) for name, v in scores.items()})
    return result


def _ratio(part: npt.NDArray[np.float64], whole: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    import numpy as np

    return np.divide(part, whole, out=np.zeros_like(part), where=whole > 0)


def _roc_auc(scored: Scored, notes: list[str], where: str) -> float:
    """Binary AUC of classes[1]; multiclass: macro one-vs-rest over the classes present."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    assert scored.proba is not None
    present = np.flatnonzero(np.bincount(scored.truth, minlength=len(scored.classes)))
    if len(present) < 2:
        label = scored.classes[int(present[0])]
        notes.append(f"roc_auc is NaN{_at(where)}: the target has the single class {label!r}")
        return math.nan
    if scored.binary:
        return float(roc_auc_score(scored.truth == 1, scored.proba[:, 1]))
    scores = [float(roc_auc_score(scored.truth == k, scored.proba[:, k])) for k in present]
    absent = [scored.classes[k] for k in range(len(scored.classes)) if k not in set(present.tolist())]
    if absent:
        notes.append(f"roc_auc{_at(where)} averages the classes present; {absent} have no rows")
    return float(np.mean(scores))


def _at(where: str) -> str:
    return f" for {where}" if where else ""


def brier(scored: Scored) -> float:
    """Binary: mean (p1 - y)^2. Multiclass: mean over rows of the summed squared errors."""
    import numpy as np

    assert scored.proba is not None
    if scored.binary:
        return float(np.mean((scored.proba[:, 1] - (scored.truth == 1)) ** 2))
    onehot = np.eye(len(scored.classes))[scored.truth]
    return float(np.mean(np.sum((scored.proba - onehot) ** 2, axis=1)))


def fairness_gaps(scored: Scored, codes: npt.NDArray[np.intp], n_groups: int) -> dict[str, float]:
    """Demographic parity and equal opportunity differences across the groups of one column.

    Binary: for the positive class. Multiclass: the largest gap over the classes, each taken
    one-vs-rest. Groups without positives are left out of equal opportunity.
    """
    classes = [1] if scored.binary else list(range(len(scored.classes)))
    gaps = [_gaps_for(scored.pred == k, scored.truth == k, codes, n_groups) for k in classes]
    return {
        "demographic_parity_difference": _nanmax([gap[0] for gap in gaps]),
        "equal_opportunity_difference": _nanmax([gap[1] for gap in gaps]),
    }


def _gaps_for(
    predicted: npt.NDArray[np.bool_],
    actual: npt.NDArray[np.bool_],
    codes: npt.NDArray[np.intp],
    n_groups: int,
) -> tuple[float, float]:
    import numpy as np

    sizes = np.bincount(codes, minlength=n_groups)
    rates = np.bincount(codes, weights=predicted, minlength=n_groups)[sizes > 0] / sizes[sizes > 0]
    positives = np.bincount(codes, weights=actual, minlength=n_groups)
    hits = np.bincount(codes, weights=predicted & actual, minlength=n_groups)
    tpr = hits[positives > 0] / positives[positives > 0]
    parity = float(rates.max() - rates.min())
    opportunity = float(tpr.max() - tpr.min()) if len(tpr) else math.nan
    return parity, opportunity


def _nanmax(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return max(finite) if finite else math.nan


# -- regression ------------------------------------------------------------------------------


def regression_metrics(
    actual: npt.NDArray[np.float64], predicted: npt.NDArray[np.float64], notes: list[str], where: str
) -> dict[str, float]:
    """RMSE, MAE, R² and MAPE (MAPE over the rows whose target is not zero)."""
    from sklearn import metrics as m

    result = {
        "rmse": float(m.root_mean_squared_error(actual, predicted)),
        "mae": float(m.mean_absolute_error(actual, predicted)),
        "r2": math.nan,
        "mape": math.nan,
    }
    if len(actual) >= 2:
        result["r2"] = float(m.r2_score(actual, predicted))
    else:
        notes.append(f"r2 is NaN{_at(where)}: it needs at least two rows")
    nonzero = actual != 0
    if nonzero.any():
        result["mape"] = float(m.mean_absolute_percentage_error(actual[nonzero], predicted[nonzero]))
        if not nonzero.all():
            notes.append(f"mape{_at(where)} leaves out {int((~nonzero).sum())} row(s) whose target is 0")
    else:
        notes.append(f"mape is NaN{_at(where)}: every target is 0")
    return result
