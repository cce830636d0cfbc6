"""Plain Python models (importable, so pickles of them load) for the pyfunc tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


class Threshold:
    """Says 1 when ``score`` is above ``cut``; a classifier with probabilities."""

    classes_ = np.array([0, 1])

    def __init__(self, cut: float) -> None:
        self.cut = cut

    def predict(self, frame: pd.DataFrame) -> Any:
        return (frame["score"].to_numpy() > self.cut).astype(int)

    def predict_proba(self, frame: pd.DataFrame) -> Any:
        p = 1.0 / (1.0 + np.exp(-(frame["score"].to_numpy() - self.cut)))
        return np.column_stack([1.0 - p, p])


def halve(values: Any) -> Any:
    """A plain function a scikit-learn FunctionTransformer can hold."""
    return values / 2


class Broken:
    """Fails on every prediction."""

    def predict(self, frame: pd.DataFrame) -> Any:
        raise ValueError("this model always fails")
