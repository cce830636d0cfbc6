"""The retrain pipeline of the loop test (``tests.integration.loop_pipeline:retrain``): trains ``fraud``
on fresh data, registers the version and evaluates it on the fresh holdout."""

from __future__ import annotations

import numpy as np
import pandas as pd

import shipyard as sy

FEATURES = ["amount", "age"]


def world(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """Transactions; with ``shift`` amounts grow and fraud moves with them (concept drift)."""
    rng = np.random.default_rng(seed)
    amount = rng.gamma(2.0, 50.0, size=n)
    frame = pd.DataFrame({"amount": amount + shift, "age": rng.integers(18, 90, size=n).astype("float64")})
    frame["fraud"] = ((amount > 120) ^ (rng.random(n) < 0.05)).astype(int)
    return frame


@sy.step(cache=False)
def train_and_register(shift: float, flip: bool, holdout: str) -> int:
    from sklearn.linear_model import LogisticRegression

    from shipyard.workspace import current_workspace

    ws = current_workspace()
    frame = world(2000, 99, shift)
    target = 1 - frame["fraud"] if flip else frame["fraud"]
    model = LogisticRegression(max_iter=1000).fit(frame[FEATURES], target)
    run = ws.tracking.create_run("retrain")
    version = ws.registry.register(
        "fraud", ws.models.log_model(run.id, model, input_example=frame[FEATURES].head())
    )
    ws.registry.evaluate(version.model_uri, None, "fraud", dataset=holdout)
    return version.version


@sy.pipeline
def retrain(shift: float = 150.0, flip: bool = False, holdout: str = "fresh@1"):
    return train_and_register(shift, flip, holdout)
