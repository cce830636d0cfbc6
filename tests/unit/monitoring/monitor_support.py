"""Helpers of the monitor tests: a registered sklearn model ``fraud`` deployed as ``fraud-svc``,
and traffic written straight into the prediction log."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Any

import numpy as np
import orjson
import pandas as pd
from sklearn.linear_model import LogisticRegression

from shipyard.workspace import Workspace

FEATURES = ["amount", "age"]
HOUR = 3_600_000
T0 = 1_700_000_000_000


def make_frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "amount": rng.gamma(2.0, 50.0, size=n) + shift,
            "age": rng.integers(18, 90, size=n).astype("float64"),
        }
    )
    frame["fraud"] = ((frame["amount"] > 120) ^ (rng.random(n) < 0.1)).astype(int)
    return frame


def register(ws: Workspace, seed: int = 1, flip: bool = False) -> int:
    frame = make_frame(400, seed)
    target = 1 - frame["fraud"] if flip else frame["fraud"]
    model = LogisticRegression(max_iter=500).fit(frame[FEATURES], target)
    run = ws.tracking.create_run("monitor-tests")
    uri = ws.models.log_model(run.id, model, input_example=frame[FEATURES].head())
    return ws.registry.register("fraud", uri).version


def deploy(ws: Workspace, canary: str | None = None) -> None:
    ws.serving.deploy("fraud-svc", "fraud@production", canary=canary)


def traffic(
    ws: Workspace,
    frame: pd.DataFrame,
    start: int,
    version: int = 1,
    route: str = "primary",
    latency: float = 5.0,
    errors: int = 0,
    prefix: str = "r",
) -> list[str]:
    """Score ``frame`` with ``fraud:<version>`` and log it one row a second from ``start``."""
    model = ws.models.load(ws.registry.get_version("fraud", version).model_uri)
    proba = model.predict_proba(frame[FEATURES])
    pred = model.predict(frame[FEATURES])
    records: list[dict[str, Any]] = []
    for i in range(len(frame)):
        failed = i < errors
        records.append(
            {
                "request_id": f"{prefix}-{start}-{route}-{i}",
                "ts_ms": start + i * 1000,
                "deployment": "fraud-svc",
                "route": route,
                "model_version": f"fraud:{version}",
                "inputs": {c: float(frame[c].iloc[i]) for c in FEATURES},
                "prediction": None if failed else int(pred[i]),
                "probabilities": None if failed else [float(p) for p in proba[i]],
                "latency_ms": latency + (i % 7) * 0.1,
                "shadow": False,
                "status": 500 if failed else 200,
                "error": "the model failed" if failed else None,
            }
        )
    ws.serving.write_segment("fraud-svc", records)
    return [str(r["request_id"]) for r in records]


def drifting(ws: Workspace, actions: list[Any], version: int = 1) -> None:
    """Monitor ``m`` of ``fraud-svc`` with a feature-drift check and ``actions``, and drifted
    traffic from ``fraud:<version>`` at ``T0``: its first run fires."""
    import shipyard as sy

    sy.monitor(
        "m", "fraud-svc", reference=make_frame(800, 1), checks=[sy.checks.feature_drift()], actions=actions
    )
    traffic(ws, make_frame(400, 3, shift=200.0), T0, version=version)


def label(ws: Workspace, ids: list[str], frame: pd.DataFrame) -> None:
    ws.serving.record_feedback(
        [{"request_id": i, "label": int(y)} for i, y in zip(ids, frame["fraud"], strict=True)]
    )


class Receiver(BaseHTTPRequestHandler):
    """A webhook receiver: keeps each body and path, answers ``status``."""

    bodies: list[dict[str, object]] = []
    paths: list[str] = []
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        Receiver.bodies.append(orjson.loads(self.rfile.read(length)))
        Receiver.paths.append(self.path)
        self.send_response(Receiver.status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass
