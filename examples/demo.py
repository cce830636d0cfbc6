"""End-to-end demo: train a model on a dataset that ships with scikit-learn, track it, show it.

Run with `make demo` (it uses a fresh home in build/demo/.shipyard).
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


def train(alpha: float, epochs: int = 30) -> str:
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_train)
    X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)
    model = SGDClassifier(loss="log_loss", alpha=alpha, random_state=0)

    with sy.start_run(experiment="breast-cancer", run_name=f"sgd-alpha-{alpha}") as run:
        run.log_params({"model": "SGDClassifier", "alpha": alpha, "epochs": epochs, "scaler": "standard"})
        run.set_tag("dataset", "sklearn.datasets.load_breast_cancer")
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
        return run.id


def main() -> None:
    run_ids = [train(alpha) for alpha in (0.0001, 0.001, 0.01)]
    print(f"tracked {len(run_ids)} runs in {sy.list_experiments()[0].name!r}\n")
    best = sy.search_runs(experiment="breast-cancer", filter="metrics.auc > 0.9", order_by="metrics.auc desc")
    print(best[["run_name", "params.alpha", "metrics.auc", "metrics.accuracy"]].to_string(index=False))
    print()
    shipyard = Path(sys.executable).with_name("shipyard")
    subprocess.run([str(shipyard), "runs", "show", best.iloc[0]["run_id"]], check=True)
    subprocess.run([str(shipyard), "audit", "verify"], check=True)


if __name__ == "__main__":
    main()
