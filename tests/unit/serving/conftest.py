"""Fixtures of the serving tests: an embedded workspace with model ``fraud`` registered three
times (scikit-learn logistic regressions) and ``fraud@production`` holding version 1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.core.config import load_settings
from shipyard.serving.service import ServingService
from shipyard.workspace import Workspace, set_workspace

FEATURES = ["amount", "age", "country_code"]


def make_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "amount": rng.gamma(2.0, 50.0, size=n),
            "age": rng.integers(18, 90, size=n).astype("float64"),
            "country_code": rng.integers(0, 5, size=n).astype("float64"),
        }
    )
    frame["fraud"] = ((frame["amount"] > 120) ^ (rng.random(n) < 0.1)).astype(int)
    return frame


@pytest.fixture
def workspace(home: Path) -> Iterator[Workspace]:
    """The SDK's workspace too, so ``sy.serving.*`` uses the same home."""
    ws = Workspace(load_settings())
    set_workspace(ws)
    yield ws
    set_workspace(None)


@pytest.fixture
def serving(workspace: Workspace) -> ServingService:
    return workspace.serving


def log_model(workspace: Workspace, seed: int, c: float = 1.0) -> str:
    frame = make_frame(200, seed)
    run = workspace.tracking.create_run("serving-tests")
    model = LogisticRegression(C=c, max_iter=500).fit(frame[FEATURES], frame["fraud"])
    return workspace.models.log_model(run.id, model, input_example=frame[FEATURES].head())


@pytest.fixture
def fraud(workspace: Workspace) -> list[int]:
    """Versions 1, 2, 3 of ``fraud``; ``production`` holds 1."""
    versions = [
        workspace.registry.register("fraud", log_model(workspace, seed)).version for seed in (1, 2, 3)
    ]
    workspace.registry.promote("fraud", 1, "production")
    return versions
