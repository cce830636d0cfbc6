"""End-to-end demo: version a dataset, validate it, train on it with tracking, show the run.

The data is scikit-learn's breast-cancer set (it ships with scikit-learn). Run with
`make demo` (it uses a fresh home in build/demo/.shipyard).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import shipyard as sy

SUITE = """
name: breast-cancer
checks:
  - {column: target, in_set: [0, 1]}
  - {column: mean radius, not_null: true}
  - {column: mean radius, between: {min: 0, max: 100}}
  - {column: mean area, between: {min: 0}}
  - {row_count: {min: 500}}
  - {expression: '"worst radius" >= "mean radius"'}
"""


def version_and_validate(folder: Path) -> str:
    """Write the data as Parquet, add it as a dataset version, refuse it if it is wrong."""
    frame = load_breast_cancer(as_frame=True).frame
    path = folder / "breast_cancer.parquet"
    frame.to_parquet(path, index=False)
    version = sy.datasets.add(path, "breast-cancer", message="sklearn breast-cancer data")
    print(f"dataset {version.ref}: {version.row_count} rows, digest {version.digest[:19]}")
    suite_path = folder / "suite.yaml"
    suite_path.write_text(SUITE)
    result = sy.validate(str(suite_path), version.ref, halt=True)  # raises ValidationFailed if wrong
    print(f"validation: {sum(c.success for c in result.checks)}/{len(result.checks)} checks passed\n")
    return version.ref


def train(data_ref: str, alpha: float, epochs: int = 30) -> str:
    with sy.start_run(experiment="breast-cancer", run_name=f"sgd-alpha-{alpha}") as run:
        frame = sy.datasets.load(data_ref)  # recorded as the run's training input
        y = frame.pop("target").to_numpy()
        X = frame.to_numpy()
        run_model(run, X, y, alpha, epochs)
        return run.id


def run_model(run: sy.Run, X: np.ndarray, y: np.ndarray, alpha: float, epochs: int) -> None:
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_train)
    X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)
    model = SGDClassifier(loss="log_loss", alpha=alpha, random_state=0)
    run.log_params({"model": "SGDClassifier", "alpha": alpha, "epochs": epochs, "scaler": "standard"})
    for epoch in range(epochs):
        model.partial_fit(X_train, y_train, classes=np.array([0, 1]))
        run.log_metrics(
            {
                "train_loss": log_loss(y_train, model.predict_proba(X_train)),
                "val_loss": log_loss(y_val, model.predict_proba(X_val)),
            },
            step=epoch,
        )
    proba = model.predict_proba(X_val)[:, 1]
    run.log_metrics(
        {
            "accuracy": accuracy_score(y_val, proba > 0.5),
            "f1": f1_score(y_val, proba > 0.5),
            "auc": roc_auc_score(y_val, proba),
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "model.json"
        weights.write_text(
            json.dumps(
                {
                    "coef": model.coef_.tolist(),
                    "intercept": model.intercept_.tolist(),
                    "scaler_mean": scaler.mean_.tolist(),
                    "scaler_scale": scaler.scale_.tolist(),
                }
            )
        )
        run.log_artifact(weights, "model/weights.json")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_ref = version_and_validate(Path(tmp))
    run_ids = [train(data_ref, alpha) for alpha in (0.0001, 0.001, 0.01)]
    print(f"tracked {len(run_ids)} runs in {sy.list_experiments()[0].name!r}\n")
    best = sy.search_runs(experiment="breast-cancer", filter="metrics.auc > 0.9", order_by="metrics.auc desc")
    print(best[["run_name", "params.alpha", "metrics.auc", "metrics.accuracy"]].to_string(index=False))
    print()
    shipyard = Path(sys.executable).with_name("shipyard")
    subprocess.run([str(shipyard), "data", "show", "breast-cancer@1"], check=True)
    subprocess.run([str(shipyard), "runs", "show", best.iloc[0]["run_id"]], check=True)
    subprocess.run([str(shipyard), "audit", "verify"], check=True)


if __name__ == "__main__":
    main()
