"""The demo's training pipeline: load -> validate -> build features -> tune -> train ->
evaluate -> register, run with `shipyard pipelines run fraud_pipeline:training`.

Every step is cached by its code, parameters and inputs, and tracked as a child run of
the pipeline's run. `-p worse=true` trains a deliberately weak model (it sees only the
time of day), which the registry's gates must refuse to promote.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import shipyard as sy

FEATURES = ["amount", "night", "online", "avg_amount_7d", "tx_count_7d", "amount_ratio"]
WEAK_FEATURES = ["night", "tx_count_7d"]
TARGET = "is_fraud"
HOLDOUT_DATASET = "fraud-holdout"


@sy.step(cache=False)  # "transactions" names the latest version: never reuse an older read
def load(dataset: str) -> pd.DataFrame:
    return sy.datasets.load(dataset)


@sy.step
def validate(frame: pd.DataFrame, suite: str) -> pd.DataFrame:
    sy.validate(str(Path(suite).resolve()), frame, halt=True)  # raises ValidationFailed: the run stops
    return frame


@sy.step
def build_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Point-in-time features for every transaction, from the same definitions serving uses."""
    frame = frame.assign(online=(frame["merchant"] == "online").astype("int64"))
    joined = sy.features.historical(frame, service="fraud_features")
    return joined.dropna(subset=["avg_amount_7d"]).astype({"tx_count_7d": "int64"}).reset_index(drop=True)


def _fingerprint(frame: pd.DataFrame) -> str:
    return f"{int(pd.util.hash_pandas_object(frame, index=False).sum()) & 0xFFFFFFFF:08x}"


def _model(c: float) -> Any:
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=500))


@sy.step
def tune(train: pd.DataFrame, n_trials: int, worse: bool) -> dict[str, Any]:
    columns = WEAK_FEATURES if worse else FEATURES
    X, y = train[columns], train[TARGET]

    def objective(params: dict[str, Any]) -> float:
        return float(cross_val_score(_model(params["c"]), X, y, scoring="roc_auc", cv=3).mean())

    result = sy.tune(
        objective,
        space={"c": sy.loguniform(1e-3, 10.0)},
        n_trials=n_trials,
        metric="roc_auc",
        seed=0,
        # one study per training set: a retrain on fresh data searches afresh
        study=f"fraud-{'weak' if worse else 'full'}-{n_trials}-{_fingerprint(train)}",
        experiment="fraud-tuning",
    )
    return {"c": result.best_params["c"], "cv_roc_auc": result.best_value}


@sy.step
def train(train: pd.DataFrame, params: dict[str, Any], worse: bool, dataset: str) -> dict[str, Any]:
    columns = WEAK_FEATURES if worse else FEATURES
    model = _model(params["c"]).fit(train[columns], train[TARGET])
    with sy.start_run(experiment="fraud", run_name="weak" if worse else "logreg") as run:
        # Lineage: the registry records the run's training data (and its `validated` gate reads it).
        run.log_input(sy.datasets.get(dataset), context="training")
        run.log_params({"c": params["c"], "features": ",".join(columns)})
        run.log_metric("cv_roc_auc", params["cv_roc_auc"])
        uri = run.log_model(model, input_example=train[columns].head(20))
    return {"model_uri": uri}


@sy.step
def evaluate(model: dict[str, Any], holdout: pd.DataFrame) -> dict[str, Any]:
    """Evaluate on the holdout, kept as a dataset version so the registry's gates can name it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "holdout.parquet"
        holdout[[*FEATURES, TARGET, "merchant"]].to_parquet(path, index=False)
        version = sy.datasets.add(path, HOLDOUT_DATASET, message="holdout with point-in-time features")
    evaluation = sy.evaluate(model["model_uri"], version.ref, target=TARGET, slices=["merchant"])
    return {**model, "roc_auc": evaluation.metrics["roc_auc"], "holdout": version.ref}


@sy.step(cache=False)
def register(evaluated: dict[str, Any]) -> dict[str, Any]:
    version = sy.registry.register("fraud", evaluated["model_uri"])
    return {**evaluated, "version": version.version}


@sy.pipeline(name="fraud-training")
def training(
    dataset: str = "transactions",
    holdout: str = "holdout",
    suite: str = "fraud_suite.yaml",
    worse: bool = False,
    n_trials: int = 8,
):  # type: ignore[no-untyped-def]
    train_set = build_features(validate(load(dataset), suite))
    holdout_set = build_features(load(holdout))
    params = tune(train_set, n_trials, worse)
    model = train(train_set, params, worse, dataset)
    return register(evaluate(model, holdout_set))
