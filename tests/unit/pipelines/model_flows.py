"""Pipelines whose steps return fitted models."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

import shipyard as sy


def xy(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(n)
    features = rng.normal(size=(n, 3))
    return features, (features[:, 0] + features[:, 1] > 0).astype(int)


@sy.step
def fit(n: int) -> LogisticRegression:
    features, labels = xy(n)
    return LogisticRegression().fit(features, labels)


@sy.step
def accuracy(model: LogisticRegression, n: int) -> float:
    features, labels = xy(n + 1)
    return float((model.predict(features) == labels).mean())


@sy.pipeline
def train(n: int = 200):
    return accuracy(fit(n), n)


class Opaque:
    def predict(self, rows: object) -> list[int]:
        return [0]


@sy.step
def pickled() -> object:
    return sy.pyfunc(Opaque())


@sy.pipeline
def unsafe():
    return pickled()
