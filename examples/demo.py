"""End-to-end demo: the life of a fraud model, from raw data to live traffic.

1. Synthetic card transactions are versioned as datasets.
2. Feature definitions are applied (`shipyard features apply`).
3. The training pipeline runs through `shipyard pipelines run`: load -> validate ->
   point-in-time features -> tune (Optuna) -> train -> evaluate -> register.
4. Version 1 is promoted to `production` through a policy with a metric gate and a
   champion gate; a deliberately worse model is refused, and the report is printed.
5. Features are materialised; the production model is deployed with a canary and
   served by `shipyard serve`, which reads the same features online.
6. Traffic is sent, late labels follow, and the prediction log shows both.
7. The lineage of the production model, and the audit log's verification.

Run with `make demo` (it uses a fresh home in build/demo/.shipyard).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pandas as pd

import shipyard as sy

EXAMPLES = Path(__file__).resolve().parent
SHIPYARD = str(Path(sys.executable).with_name("shipyard"))
HOLDOUT = "fraud-holdout"


def step(title: str) -> None:
    print(f"\n=== {title}")


def shipyard(*args: str) -> None:
    """Run a CLI command in the examples folder (pipelines and features import from there)."""
    subprocess.run([SHIPYARD, *args], check=True, cwd=EXAMPLES)


def version_data(folder: Path) -> None:
    import fraud_data

    for name, path in fraud_data.write(folder).items():
        version = sy.datasets.add(path, name, message="synthetic card transactions")
        print(f"dataset {version.ref}: {version.row_count} rows, digest {version.digest[:19]}")


def train(*params: str) -> dict[str, object]:
    """One run of the training pipeline; its output (model URI, holdout ROC AUC, version)."""
    args = [arg for param in params for arg in ("-p", param)]
    shipyard("pipelines", "run", "fraud_pipeline:training", *args)
    output = sy.pipelines.output(sy.pipelines.list(pipeline="fraud-training", limit=1)[0].id)
    print(f"registered fraud:{output['version']}: holdout ROC AUC {output['roc_auc']:.3f}")
    return dict(output)


def promote_through_gates() -> None:
    sy.registry.set_policy(
        "fraud",
        "production",
        gates=[
            sy.gates.metric("roc_auc", ">=", 0.65, dataset=HOLDOUT),
            sy.gates.beats_champion("roc_auc", min_delta=0.0, dataset=HOLDOUT),
        ],
    )
    sy.registry.promote("fraud", 1, "production", reason="first model")
    print("fraud:1 is production: its gates passed (there was no champion yet)")

    step("A deliberately worse model (it sees only the time of day and the user's activity)")
    worse = train("worse=true")
    try:
        sy.registry.promote("fraud", int(worse["version"]), "production", reason="try the weak one")
    except sy.GateFailed as refused:
        print(f"refused: {refused.message}")
        for gate in refused.details["report"]["results"]:
            mark = "pass" if gate["passed"] else "FAIL"
            observed, required = gate["observed"], gate["required"]
            print(f"  [{mark}] {gate['description']}: observed {observed}, required {required}")
    else:
        raise SystemExit("the registry promoted a worse model: the gates did not hold")
    print(f"production is still fraud:{sy.registry.aliases('fraud')['production']}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DataPlane:
    """`shipyard serve fraud` in a process of its own, and an HTTP client to it."""

    def __init__(self) -> None:
        port = free_port()
        # The on-demand feature's function is imported by the server from fraud_features.py.
        env = {**os.environ, "PYTHONPATH": str(EXAMPLES)}
        command = [SHIPYARD, "serve", "fraud", "--port", str(port)]
        self.process = subprocess.Popen(command, cwd=EXAMPLES, env=env)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30.0)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"shipyard serve exited with {self.process.returncode}")
            try:
                if self.client.get("/v2/health/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise SystemExit("shipyard serve did not become ready within 90 s")

    def traffic(self, frame: pd.DataFrame) -> None:
        """One request per transaction (entity key and request data: the features come from
        the online store), then the late labels for all of them."""
        answers, versions = [], Counter()
        for row in frame.itertuples(index=False):
            instance = {
                "user_id": int(row.user_id),
                "amount": float(row.amount),
                "night": int(row.night),
                "online": int(row.merchant == "online"),
            }
            response = self.client.post(
                "/v1/deployments/fraud/predict",
                json={"instances": [instance], "return_proba": True},
                headers={"X-Routing-Key": f"tx-{row.tx_id}"},
            )
            if response.status_code != 200:
                raise SystemExit(f"prediction failed ({response.status_code}): {response.text}")
            body = response.json()
            versions[body["model_version"]] += 1
            answers.append({"request_id": body["request_id"], "label": int(row.is_fraud)})
        print(f"sent {len(answers)} requests: {dict(sorted(versions.items()))}")
        late = self.client.post("/v1/deployments/fraud/feedback", json=answers)
        if late.status_code != 200:
            raise SystemExit(f"feedback failed ({late.status_code}): {late.text}")
        print(f"late labels: {late.json()['accepted']} accepted")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)  # a graceful shutdown flushes the prediction log
        self.process.wait(timeout=60)
        self.client.close()


def deploy(canary: str | None) -> None:
    spec = sy.deploy("fraud", model="fraud@production", canary=canary, features="fraud_features")
    routes = ", ".join(f"{r.name}={r.model} {r.weight:g}%" for r in spec.routes if r.weight > 0)
    print(f"deployment fraud v{spec.version}: {routes}")
    time.sleep(3)  # the data plane picks up a new spec within 2 s


def monitor_run(title: str) -> None:
    print(f"-- shipyard monitors run fraud-drift ({title})")
    shipyard("monitors", "run", "fraud-drift")


def closed_loop(plane: DataPlane, folder: Path) -> None:
    """Drift -> alert -> retrain on fresh data -> gates -> canary -> promoted or aborted."""
    import fraud_data

    sy.monitor(
        "fraud-drift",
        "fraud",
        reference=HOLDOUT,
        window=300,
        checks=[
            # request data only: online features are each user's latest values, not the
            # point-in-time values of the reference, so they differ by design
            sy.checks.feature_drift(columns=["amount"]),
            sy.checks.performance("roc_auc", min=0.55, min_labels=100),
        ],
        actions=[
            sy.actions.retrain("fraud_pipeline:training", on="warning"),
            sy.actions.canary(promote_after=2),
        ],
    )
    monitor_run("calm traffic")

    step("The world moves: amounts double; the fresh data is versioned and its features materialised")
    for name, path in fraud_data.write(folder, seed=8, shift=1.0).items():
        print(f"dataset {sy.datasets.add(path, name, message='fresh, drifted data').ref}")
    sy.features.materialize()
    fresh = sy.datasets.load("holdout")
    plane.traffic(fresh.iloc[:300])
    monitor_run("drifted traffic")

    step("The scheduler runs the retrain pipeline the alert asked for")
    shipyard("scheduler", "--once")
    latest = sy.registry.list_versions("fraud")[-1].version
    print(f"retrained: fraud:{latest}")

    step(f"fraud:{latest} goes out as a canary; canary analysis decides")
    deploy(f"fraud:{latest}=30%")
    for window in (1, 2):
        plane.traffic(fresh.iloc[300 * window : 300 * (window + 1)])
        monitor_run(f"canary window {window}")
    print(f"production is fraud:{sy.registry.aliases('fraud')['production']}")


def main() -> None:
    home = Path(os.environ.get("SHIPYARD_HOME", ".shipyard")).resolve()
    os.environ["SHIPYARD_HOME"] = str(home)  # the CLI runs in the examples folder
    sys.path.insert(0, str(EXAMPLES))

    step("Data: version the raw transactions")
    version_data(home.parent / "data")

    step("Features: one definition for training and serving")
    shipyard("features", "apply", "fraud_features.py")

    step("Training pipeline: load -> validate -> features -> tune -> train -> evaluate -> register")
    train()

    step("Registry: promote through a metric gate and a champion gate")
    promote_through_gates()

    step("A second good model, for the canary")
    canary = train("n_trials=4")

    step("Serving: production with a canary, features read online, late labels")
    sy.features.materialize()
    deploy(f"fraud:{canary['version']}=20%")
    plane = DataPlane()
    try:
        plane.traffic(sy.datasets.load("holdout").iloc[:300])
        step("Monitoring: a drift monitor with a retrain action and canary analysis")
        deploy(None)
        closed_loop(plane, home.parent / "fresh")
    finally:
        plane.stop()
    logged = sy.serving.predictions("fraud")
    print(f"prediction log: {len(logged)} predictions, {int(logged['label'].notna().sum())} labelled")

    step("Lineage of the production model, and the audit log")
    shipyard("models", "show", "fraud@production")
    shipyard("audit", "verify")


if __name__ == "__main__":
    main()
