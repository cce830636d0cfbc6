"""Fixtures of the registry tests: an embedded workspace, datasets, real scikit-learn packages,
and users with roles for the service's ``authorize``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

from shipyard.core.config import load_settings
from shipyard.core.errors import PermissionDenied
from shipyard.governance.models import Role
from shipyard.registry.models import ModelVersion
from shipyard.registry.service import RegistryService
from shipyard.tracking.models import RunInput
from shipyard.workspace import Workspace, set_workspace

FEATURES = ["a", "b", "gender_code"]


class Users:
    """The ``authorize`` of a service in tests: who is calling, with which role."""

    def __init__(self) -> None:
        self.name, self.role = "ann", Role.EDITOR

    def authorize(self, needed: str) -> str:
        if not self.role.allows(Role(needed)):
            raise PermissionDenied(f"{self.name!r} is {self.role.value}; this needs {needed}")
        return self.name

    @contextmanager
    def acting(self, name: str, role: str) -> Iterator[None]:
        before = self.name, self.role
        self.name, self.role = name, Role(role)
        try:
            yield
        finally:
            self.name, self.role = before


@pytest.fixture
def workspace(home: Path) -> Iterator[Workspace]:
    """The SDK's workspace too, so ``sy.registry.*`` uses the same home."""
    ws = Workspace(load_settings())
    set_workspace(ws)
    yield ws
    set_workspace(None)


@pytest.fixture
def users() -> Users:
    return Users()


@pytest.fixture
def registry(workspace: Workspace, users: Users) -> RegistryService:
    """A registry service over the workspace's store and services, with roles from ``users``."""
    return RegistryService(
        workspace.registry.store,
        models=workspace.models,
        tracking=workspace.tracking,
        datasets=workspace.datasets,
        validation=workspace.validation,
        content=workspace.content,
        audit=workspace.audit,
        authorize=users.authorize,
    )


def make_frame(n: int, seed: int) -> pd.DataFrame:
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


@pytest.fixture
def data(workspace: Workspace, tmp_path: Path) -> Data:
    """Datasets ``train@1`` and ``holdout@1`` (parquet files), and their frames."""
    train, holdout = make_frame(300, 1), make_frame(200, 2)
    for name, frame in (("train", train), ("holdout", holdout)):
        path = tmp_path / f"{name}.parquet"
        frame.to_parquet(path, index=False)
        workspace.datasets.add(path, name)
    return Data(train, holdout)


def log_package(workspace: Workspace, data: Data, model: object, commit: str | None = "c0ffee") -> str:
    """Fit ``model`` on the training data in a new run (reading ``train@1``), log it; its ``runs:/`` URI."""
    lineage = {"git": {"commit": commit, "dirty": False}} if commit else {}
    run = workspace.tracking.create_run("registry-tests", lineage=lineage)
    train = workspace.datasets.get("train")
    workspace.tracking.log_inputs(run.id, [RunInput("dataset", train.ref, train.digest, "training")])
    model.fit(data.train[FEATURES], data.train["y"])  # type: ignore[attr-defined]
    return workspace.models.log_model(run.id, model, input_example=data.train[FEATURES].head())


@pytest.fixture
def good_uri(workspace: Workspace, data: Data) -> str:
    return log_package(workspace, data, LogisticRegression(max_iter=500))


@pytest.fixture
def weak_uri(workspace: Workspace, data: Data) -> str:
    return log_package(workspace, data, DummyClassifier(strategy="prior"))


@pytest.fixture
def good(registry: RegistryService, good_uri: str) -> ModelVersion:
    """Version 1 of ``fraud``: a logistic regression (ROC AUC near 0.95 on the holdout)."""
    return registry.register("fraud", good_uri)


@pytest.fixture
def weak(registry: RegistryService, good: ModelVersion, weak_uri: str) -> ModelVersion:
    """Version 2 of ``fraud``: a constant predictor (ROC AUC 0.5)."""
    return registry.register("fraud", weak_uri)
