"""Performance of logged predictions: realised (labels that came late) and estimated (no labels yet).

**Realised** metrics are scikit-learn's on the labelled rows of a window, per model
version: ``accuracy``, ``precision``, ``recall``, ``f1``, ``roc_auc``, ``log_loss``,
``brier`` (binary classification; ``roc_auc``, ``log_loss`` and ``brier`` need the logged
``probabilities``) and ``rmse``, ``mae``, ``r2`` (regression). In the binary case the
positive class is the larger of the two sorted classes, and ``probabilities[-1]`` its score.

**Estimated** metrics follow confidence-based performance estimation (CBPE, as in
NannyML): when a binary classifier's probabilities are calibrated, the label of a row is
a Bernoulli draw with the predicted probability ``p``, so the expected confusion matrix
is ``TP = sum(p | predicted 1)``, ``FP = sum(1 - p | predicted 1)``,
``FN = sum(p | predicted 0)``, ``TN = sum(1 - p | predicted 0)``. ``accuracy``,
``precision``, ``recall`` and ``f1`` are computed from it; the expected ``roc_auc`` is the
probability-weighted share of correctly ordered pairs,
``sum_{i,j} p_i (1 - p_j) [s_i > s_j] / sum_{i != j} p_i (1 - p_j)`` (ties count half),
computed in O(n log n) after a sort. The estimate is only as good as the calibration.

>>> import numpy as np
>>> round(estimate("accuracy", np.array([0.9, 0.2, 0.6])), 4)
0.7667
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.core.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd
    from numpy.typing import NDArray

__all__ = [
    "CLASSIFICATION",
    "ESTIMABLE",
    "HIGHER_IS_BETTER",
    "REGRESSION",
    "estimate",
    "positive_scores",
    "realised",
]

CLASSIFICATION = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "brier")
REGRESSION = ("rmse", "mae", "r2")
ESTIMABLE = ("accuracy", "precision", "recall", "f1", "roc_auc")
HIGHER_IS_BETTER = frozenset({"accuracy", "precision", "recall", "f1", "roc_auc", "r2"})
NEEDS_SCORES = frozenset({"roc_auc", "log_loss", "brier"})


def check_metric(metric: object, known: tuple[str, ...]) -> str:
    if not isinstance(metric, str) or metric not in known:
        raise InvalidInputError(f"unknown metric {metric!r}; known: {', '.join(known)}")
    return metric


def positive_scores(probabilities: pd.Series[Any]) -> NDArray[np.float64] | None:
    """The positive class's probability of each row (the last of each list); None when any is missing."""
    values = [p[-1] if p is not None and len(p) > 0 else None for p in probabilities]
    if not values or any(v is None for v in values):
        return None
    return np.asarray(values, dtype=np.float64)


def realised(metric: str, frame: pd.DataFrame) -> float:
    """``metric`` on the rows of ``frame`` (columns ``label``, ``prediction``, ``probabilities``)."""
    from sklearn import metrics as m

    check_metric(metric, CLASSIFICATION + REGRESSION)
    y_true, y_pred = frame["label"].tolist(), frame["prediction"].tolist()
    if metric in REGRESSION:
        t, p = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
        if metric == "rmse":
            return float(np.sqrt(np.mean((t - p) ** 2)))
        return float(m.mean_absolute_error(t, p) if metric == "mae" else m.r2_score(t, p))
    classes = sorted(set(y_true) | set(y_pred), key=str)
    if metric in NEEDS_SCORES:
        scores = positive_scores(frame["probabilities"])
        if scores is None:
            raise InvalidInputError(f"{metric} needs the logged probabilities of every labelled prediction")
        positive = [1 if y == classes[-1] else 0 for y in y_true]
        if metric == "roc_auc":
            if len(set(positive)) < 2:
                raise InvalidInputError("roc_auc needs labels of both classes in the window")
            return float(m.roc_auc_score(positive, scores))
        if metric == "brier":
            return float(m.brier_score_loss(positive, scores))
        return float(m.log_loss(positive, np.clip(scores, 1e-15, 1 - 1e-15), labels=[0, 1]))
    if metric == "accuracy":
        return float(m.accuracy_score(y_true, y_pred))
    average = "binary" if len(classes) <= 2 else "macro"
    kwargs: dict[str, Any] = {"average": average, "zero_division": 0}
    if average == "binary":
        kwargs["pos_label"] = classes[-1]
    scorer = {"precision": m.precision_score, "recall": m.recall_score, "f1": m.f1_score}[metric]
    return float(scorer(y_true, y_pred, **kwargs))


def estimate(metric: str, scores: NDArray[np.float64], threshold: float = 0.5) -> float:
    """The expected ``metric`` of a calibrated binary classifier with positive-class ``scores``."""
    check_metric(metric, ESTIMABLE)
    p = np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0)
    if p.size == 0:
        raise InvalidInputError("no probabilities to estimate from")
    if metric == "roc_auc":
        return _expected_auc(p)
    predicted = p >= threshold
    tp, fp = float(p[predicted].sum()), float((1 - p[predicted]).sum())
    fn, tn = float(p[~predicted].sum()), float((1 - p[~predicted]).sum())
    if metric == "accuracy":
        return (tp + tn) / p.size
    precision = tp / (tp + fp) if tp + fp > 0 else 0.0
    recall = tp / (tp + fn) if tp + fn > 0 else 0.0
    if metric == "precision":
        return precision
    if metric == "recall":
        return recall
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def _expected_auc(p: NDArray[np.float64]) -> float:
    order = np.argsort(p, kind="stable")
    s, pos = p[order], p[order]
    neg = 1.0 - pos
    # negatives' weight strictly below each score, plus half of those tied with it
    unique, start, counts = np.unique(s, return_index=True, return_counts=True)
    neg_cum = np.concatenate([[0.0], np.cumsum(neg)])
    below = neg_cum[start]
    tied = neg_cum[start + counts] - below
    group = np.repeat(np.arange(unique.size), counts)
    credit = below[group] + 0.5 * (tied[group] - neg)  # a row is not paired with itself
    numerator = float(np.sum(pos * credit))
    denominator = float(pos.sum() * neg.sum() - np.sum(pos * neg))
    if denominator <= 0:
        raise InvalidInputError("the expected ROC AUC needs scores strictly between 0 and 1")
    return numerator / denominator
