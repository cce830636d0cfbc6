"""Fixtures of the model tests: a workspace on an embedded home, a run, and small training data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shipyard.core.config import load_settings
from shipyard.models.service import ModelService
from shipyard.workspace import Workspace, set_workspace


@pytest.fixture
def workspace(home: Path) -> Iterator[Workspace]:
    """The SDK's workspace too, so ``sy.models.*`` and ``sy.start_run`` use the same home."""
    ws = Workspace(load_settings())
    set_workspace(ws)
    yield ws
    set_workspace(None)


@pytest.fixture
def models(workspace: Workspace) -> ModelService:
    return workspace.models


@pytest.fixture
def run_id(workspace: Workspace) -> str:
    return workspace.tracking.create_run("models").id


@pytest.fixture
def frame() -> pd.DataFrame:
    """Three numeric columns (one of them ints) with a learnable binary target in ``y``."""
    rng = np.random.default_rng(7)
    n = 300
    data = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "income": rng.normal(50.0, 15.0, n),
            "score": rng.normal(0.0, 1.0, n),
        }
    )
    logit = 0.05 * (data["age"] - 50) + 0.08 * (data["income"] - 50) + data["score"]
    data["y"] = (logit + rng.normal(0.0, 0.5, n) > 0).astype(int)
    return data


@pytest.fixture
def X(frame: pd.DataFrame) -> pd.DataFrame:  # the usual name of a feature matrix
    return frame.drop(columns="y")


@pytest.fixture
def y(frame: pd.DataFrame) -> pd.Series:
    return frame["y"]
