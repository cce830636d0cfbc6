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
from pathlib import Path

import httpx

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
            print(f"  [{mark}] {gate['description']}: observed {gate['observed']}, required {gate['required']}")
    else:
        raise SystemExit("the registry promoted a worse model: the gates did not hold")
    print(f"production is still fraud:{sy.registry.aliases('fraud')['production']}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_traffic(canary_version: int) -> None:
    import pandas as pd

    sy.features.materialize()
    spec = sy.deploy(
        "fraud",
        model="fraud@production",
        canary=f"fraud:{canary_version}=20%",
        features="fraud_features",
    )
    print(f"deployment fraud v{spec.version}: " + ", ".join(f"{r.name}={r.model} {r.weight:g}%" for r in spec.routes))
    port = free_port()
    server = subprocess.Popen([SHIPYARD, "serve", "fraud", "--port", str(port)], cwd=EXAMPLES)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10.0) as client:
            wait_ready(client, server)
            holdout = sy.datasets.load("holdout").head(300)
            answers = send(client, holdout)
            labels = [{"request_id": rid, "label": int(y)} for rid, y in answers]
            late = client.post("/v1/deployments/fraud/feedback", json=labels)
            late.raise_for_status()
            print(f"late labels sent: {late.json()}")
    finally:
        server.send_signal(signal.SIGINT)  # a graceful shutdown flushes the prediction log
        server.wait(timeout=60)
    logged = sy.serving.predictions("fraud")
    by_version = logged.groupby("model_version").size().to_dict()
    print(f"prediction log: {len(logged)} predictions {by_version}, {int(logged['label'].notna().sum())} labelled")
    assert isinstance(logged, pd.DataFrame)


def wait_ready(client: httpx.Client, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"shipyard serve exited with {server.returncode}")
        try:
            if client.get("/v2/health/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("shipyard serve did not become ready within 60 s")


def send(client: httpx.Client, holdout: object) -> list[tuple[str, int]]:
    """One request per transaction: entity key and request data; features come from the store."""
    import pandas as pd

    assert isinstance(holdout, pd.DataFrame)
    answers, versions = [], {}
    for row in holdout.itertuples(index=False):
        instance = {
            "user_id": int(row.user_id),
            "amount": float(row.amount),
            "night": int(row.night),
            "online": int(row.merchant == "online"),
        }
        response = client.post(
            "/v1/deployments/fraud/predict",
            json={"instances": [instance], "return_proba": True},
            headers={"X-Routing-Key": f"tx-{row.tx_id}"},
        )
        response.raise_for_status()
        body = response.json()
        versions[body["model_version"]] = versions.get(body["model_version"], 0) + 1
        answers.append((body["request_id"], int(row.is_fraud)))
    print(f"sent {len(answers)} requests: {versions}")
    return answers


def main() -> None:
    home = Path(os.environ.get("SHIPYARD_HOME", ".shipyard")).resolve()
    os.environ["SHIPYARD_HOME"] = str(home)  # the CLI runs in the examples folder
    sys.path.insert(0, str(EXAMPLES))

    step("Data: version the raw transactions")
    version_data(home.parent / "data")

    step("Features: one definition for training and serving")
    shipyard("features", "apply", "fraud_features.py")

    step("Training pipeline: load -> validate -> features -> tune -> train -> evaluate -> register")
    first = train()

    step("Registry: promote through a metric gate and a champion gate")
    promote_through_gates()

    step("A second good model, for the canary")
    canary = train("n_trials=4")

    step("Serving: production with a canary, features read online, late labels")
    serve_traffic(int(canary["version"]))

    step("Lineage of the production model, and the audit log")
    shipyard("models", "show", "fraud@production")
    shipyard("audit", "verify")
    assert first["version"] == 1


if __name__ == "__main__":
    main()
