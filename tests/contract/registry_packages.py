"""Real scikit-learn packages and datasets for the registry's front-door tests, in any workspace
(embedded, or remote through a server: the same calls log through the REST API)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from shipyard.tracking.models import RunInput
from shipyard.workspace import Workspace

FEATURES = ["a", "b", "gender_code"]


def make_frame(n: int, seed: int) -> pd.DataFrame:
    """Two informative features, a slice column (``gender``) and a binary target ``y``."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"a": rng.normal(size=n), "b": rng.normal(size=n), "gender": rng.choice(["f", "m"], n)}
    )
    frame["gender_code"] = (frame["gender"] == "f").astype(int)
    frame["y"] = (frame["a"] + 0.5 * frame["b"] + rng.normal(scale=0.5, size=n) > 0).astype(int)
    return frame


@dataclass(frozen=True)
class Data:
    train: pd.DataFrame
    holdout: pd.DataFrame


def add_datasets(workspace: Workspace, folder: Path) -> Data:
    """Datasets ``train@1`` and ``holdout@1`` (parquet files) in ``workspace``, and their frames."""
    folder.mkdir(parents=True, exist_ok=True)
    train, holdout = make_frame(300, 1), make_frame(200, 2)
    for name, frame in (("train", train), ("holdout", holdout)):
        path = folder / f"{name}.parquet"
        frame.to_parquet(path, index=False)
        workspace.datasets.add(path, name)
    return Data(train, holdout)


def log_package(workspace: Workspace, data: Data, kind: str = "good", commit: str = "c0ffee") -> str:
    """Fit a model (``good``: logistic regression, ROC AUC near 0.95; ``weak``: a constant
    predictor, 0.5) in a new run reading ``train@1``; log it; its ``runs:/`` URI."""
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=500) if kind == "good" else DummyClassifier(strategy="prior")
    tracking = workspace.tracking
    run = tracking.create_run("registry-front-doors", lineage={"git": {"commit": commit, "dirty": False}})
    train = workspace.datasets.get("train")
    tracking.log_inputs(run.id, [RunInput("dataset", train.ref, train.digest, "training")])
    model.fit(data.train[FEATURES], data.train["y"])
    uri = workspace.models.log_model(run.id, model, input_example=data.train[FEATURES].head())
    tracking.end_run(run.id)
    return uri
