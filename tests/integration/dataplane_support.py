"""Helpers of the data-plane tests: a workspace with registered models, and a running data plane.

Model ``bc`` (scaled logistic regressions on scikit-learn's breast-cancer data) has versions
1 and 3 fitted on arrays (the fast path: no DataFrame) and version 2 fitted on named
columns (the DataFrame path); ``bc@production`` holds version 1.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import uvicorn

from shipyard.core.config import load_settings
from shipyard.server.dataplane.app import DataPlaneOptions, create_dataplane
from shipyard.server.dataplane.transport import HttpProtocol
from shipyard.workspace import Workspace
from tests.conftest import free_port

STARTUP_TIMEOUT_S = 60.0


def breast_cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.rename(columns=lambda c: str(c).replace(" ", "_"))
    return frame


def columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c != "target"]


def new_workspace(folder: Path) -> Workspace:
    home = folder / ".shipyard"
    settings = load_settings(
        home=str(home),
        uri=f"sqlite:///{home / 'shipyard.db'}",
        artifacts_uri=str(home / "artifacts"),
        capture_packages=False,
    )
    return Workspace(settings)


def log_model(workspace: Workspace, frame: pd.DataFrame, *, named: bool, c: float) -> str:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features = frame[columns(frame)]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))
    model.fit(features if named else features.to_numpy(), frame["target"])
    run = workspace.tracking.create_run("dataplane-tests")
    uri = workspace.models.log_model(run.id, model, input_example=features.head())
    workspace.tracking.end_run(run.id)
    return uri


def register_models(workspace: Workspace, frame: pd.DataFrame) -> None:
    for named, c in ((False, 1.0), (True, 0.5), (False, 0.01)):
        workspace.registry.register("bc", log_model(workspace, frame, named=named, c=c))
    workspace.registry.promote("bc", 1, "production")


def row(frame: pd.DataFrame, i: int = 0) -> dict[str, float]:
    return {c: float(frame[c].iloc[i]) for c in columns(frame)}


def expected(workspace: Workspace, version: int, rows: list[dict[str, Any]]) -> list[Any]:
    model = workspace.models.load(f"models:/bc/{version}")
    return [x.item() for x in np.asarray(model.predict(pd.DataFrame(rows)))]


@dataclass
class Plane:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def client(self, **options: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0, **options)


@contextmanager
def running_plane(workspace: Workspace, **options: Any) -> Iterator[Plane]:
    """The data plane of ``workspace`` served by uvicorn in a thread; stopped (gracefully) on exit."""
    options.setdefault("poll_interval_s", 0.2)
    app = create_dataplane(workspace, DataPlaneOptions(**options))
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", http=HttpProtocol
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="dataplane-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the data plane did not start")
        time.sleep(0.02)
    try:
        yield Plane(f"http://127.0.0.1:{port}", server, thread)
    finally:
        server.should_exit = True
        thread.join(60)


def wait_for(check: Any, timeout: float = 20.0, every: float = 0.05) -> Any:
    """Poll ``check()`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(every)
