"""Evaluation plots as PNG bytes: ROC, confusion matrix, calibration, residuals.

Each figure is a :class:`matplotlib.figure.Figure` drawn on its own Agg canvas, so no
pyplot state is created or touched (safe in servers and threads).

>>> png = confusion_matrix_png([[3, 1], [0, 4]], ["no", "yes"])
>>> png[:8] == PNG_SIGNATURE
True
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from matplotlib.figure import Figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_POINTS = 5_000  # residual scatter points drawn (a fixed sample beyond that)
_SIZE = (5.0, 4.0)
_DPI = 100


def classification_plots(
    truth: npt.NDArray[np.intp],
    proba: npt.NDArray[np.float64] | None,
    confusion: Sequence[Sequence[int]],
    classes: Sequence[Any],
) -> dict[str, bytes]:
    """The plots of a classifier; ROC and calibration need probabilities (and ROC two classes)."""
    import numpy as np

    plots = {"confusion_matrix.png": confusion_matrix_png(confusion, classes)}
    if proba is not None:
        if len(np.unique(truth)) >= 2:
            plots["roc.png"] = roc_png(truth, proba, classes)
        plots["calibration.png"] = calibration_png(truth, proba, classes)
    return plots


def _new_figure() -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=_SIZE, dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def roc_png(truth: npt.NDArray[np.intp], proba: npt.NDArray[np.float64], classes: Sequence[Any]) -> bytes:
    """ROC curve of classes[1] (binary) or one curve per class, one-vs-rest (multiclass).

    ``truth`` holds class indices; ``proba`` one column per class.
    """
    from sklearn.metrics import auc, roc_curve

    figure = _new_figure()
    axes = figure.add_subplot()
    shown = [1] if len(classes) == 2 else range(len(classes))
    for k in shown:
        actual = truth == k
        if actual.all() or not actual.any():
            continue
        fpr, tpr, _ = roc_curve(actual, proba[:, k])
        axes.plot(fpr, tpr, label=f"{classes[k]} (AUC {auc(fpr, tpr):.3f})")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    axes.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC", xlim=(0, 1), ylim=(0, 1))
    axes.legend(loc="lower right", fontsize="small")
    return _png(figure)


def confusion_matrix_png(matrix: Sequence[Sequence[int]], classes: Sequence[Any]) -> bytes:
    """Counts with true labels on rows, predicted labels on columns."""
    import numpy as np

    counts = np.asarray(matrix, dtype=np.int64)
    figure = _new_figure()
    axes = figure.add_subplot()
    image = axes.imshow(counts, cmap="Blues")
    figure.colorbar(image, ax=axes)
    names = [str(c) for c in classes]
    axes.set_xticks(range(len(names)), names, rotation=45, ha="right")
    axes.set_yticks(range(len(names)), names)
    axes.set(xlabel="predicted", ylabel="actual", title="Confusion matrix")
    if counts.size <= 400:
        threshold = counts.max() / 2 if counts.size else 0
        for (row, col), value in np.ndenumerate(counts):
            color = "white" if value > threshold else "black"
            axes.text(col, row, str(value), ha="center", va="center", color=color, fontsize="small")
    return _png(figure)


def reliability(
    correct: npt.NDArray[np.bool_], confidence: npt.NDArray[np.float64], bins: int = 10
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Mean confidence, observed frequency and count of each non-empty uniform bin on [0, 1]."""
    import numpy as np

    index = np.clip((confidence * bins).astype(np.int64), 0, bins - 1)
    counts = np.bincount(index, minlength=bins)
    filled = counts > 0
    mean_confidence = np.bincount(index, weights=confidence, minlength=bins)[filled] / counts[filled]
    observed = np.bincount(index, weights=correct, minlength=bins)[filled] / counts[filled]
    return mean_confidence, observed, counts[filled]


def calibration_png(
    truth: npt.NDArray[np.intp], proba: npt.NDArray[np.float64], classes: Sequence[Any]
) -> bytes:
    """Reliability curve: for classes[1] (binary) or for the top label (multiclass)."""
    import numpy as np

    if len(classes) == 2:
        confidence, correct, what = proba[:, 1], truth == 1, f"P({classes[1]})"
    else:
        top = np.argmax(proba, axis=1)
        confidence, correct, what = proba[np.arange(len(top)), top], top == truth, "top-label confidence"
    mean_confidence, observed, _ = reliability(correct, confidence)
    figure = _new_figure()
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfectly calibrated")
    axes.plot(mean_confidence, observed, marker="o", label="model")
    axes.set(xlabel=f"mean predicted {what}", ylabel="observed frequency", title="Calibration")
    axes.set(xlim=(0, 1), ylim=(0, 1))
    axes.legend(loc="upper left", fontsize="small")
    return _png(figure)


def residuals_png(actual: npt.NDArray[np.float64], predicted: npt.NDArray[np.float64]) -> bytes:
    """Residuals (actual - predicted) against the prediction; a fixed sample past MAX_POINTS."""
    import numpy as np

    if len(actual) > MAX_POINTS:
        rows = np.random.default_rng(0).choice(len(actual), MAX_POINTS, replace=False)
        actual, predicted = actual[rows], predicted[rows]
    figure = _new_figure()
    axes = figure.add_subplot()
    axes.scatter(predicted, actual - predicted, s=8, alpha=0.5)
    axes.axhline(0.0, color="grey", linestyle="--", linewidth=1)
    axes.set(xlabel="predicted", ylabel="residual (actual - predicted)", title="Residuals")
    return _png(figure)
