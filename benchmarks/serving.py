"""Online serving: ``shipyard serve`` against ``mlflow models serve`` (3.17.2) and BentoML 1.4.

The same model on every side: scikit-learn's ``LogisticRegression(max_iter=5000)`` fitted on
the breast-cancer data that ships with scikit-learn (each side fits it in its own venv; the
fit is deterministic). Load: one-row JSON requests (30 float columns), 8 concurrent
connections, from ``wrk`` (``apt-get install -y wrk``; a POST body from a Lua script) on
the same machine as the server: 3 s of warm-up, then 15 s measured (``--quick``: 1 s + 4 s).
Every server answers one request first, checked against the model's own prediction, and a
run with non-2xx answers is reported as failed.

Workloads (one server process each, one worker):

1. ``plain``      Shipyard, one route, prediction logging off;
2. ``logged``     the same with the prediction log on (what monitoring needs; for information);
3. ``full``       Shipyard, a 90/10 canary, a shadow route copied every request and the
                  prediction log on (target: >= 80% of ``plain``'s throughput); the canary
                  and the shadow serve other fits of the model (``C`` of 0.5 and 2.0);
4. ``mlflow``     ``mlflow models serve --env-manager local`` on the model saved by
                  ``mlflow.sklearn.save_model`` (requests ``{"dataframe_records": [row]}``);
5. ``bentoml``    a ``@bentoml.service`` with one ``@bentoml.api`` taking ``instances: list[dict]``.

Shipyard's deployments micro-batch (``max_batch_size=64, max_wait_ms=0``: no waiting, the
requests that queue while the model runs share its next call); ``--no-batching`` measures
one model call per request instead. Targets: throughput >= 20x MLflow's with p99 <= 10 ms;
``full`` >= 80% of ``plain``. The BentoML ratio is reported without a target.

``--skip-peer`` measures Shipyard alone. The exit code is 1 only when a side failed to run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path
from typing import Any

from _peer import bench_parser, clean_env, log, peer_python

MLFLOW_REQUIREMENTS = ["mlflow==3.17.2", "scikit-learn", "pandas"]  # the same venv as tracking.py
BENTOML_REQUIREMENTS = ["bentoml==1.4.39", "scikit-learn", "pandas"]
CONNECTIONS = 8
TARGET_VS_MLFLOW = 20.0
TARGET_P99_MS = 10.0
TARGET_FULL_SHARE = 0.8
STARTUP_TIMEOUT_S = 240.0
WORKLOADS = ["plain", "logged", "full", "mlflow", "bentoml"]
SHIPYARD_SIDES = ("plain", "logged", "full")
OTHER_C = (0.5, 2.0)  # the regularisation of the canary's and the shadow's models

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("{body}", "r")
wrk.body = f:read("*a")
f:close()
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout, e.status, latency:percentile(50), latency:percentile(99)))
end
"""

# -- model and data (run in each side's own interpreter) -----------------------------------


def fit_model(c: float = 1.0) -> tuple[Any, list[str], Any]:
    """The fitted model, the column names (spaces made underscores) and the feature matrix."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    data = load_breast_cancer()
    names = [str(n).replace(" ", "_") for n in data.feature_names]
    return LogisticRegression(C=c, max_iter=5000).fit(data.data, data.target), names, data.data


def setup_shipyard(folder: Path, mode: str, batching: bool) -> dict[str, Any]:
    """A Shipyard home with ``bc`` registered three times and deployment ``bench`` for ``mode``."""
    import pandas as pd

    from shipyard.core.config import load_settings
    from shipyard.workspace import Workspace

    model, names, matrix = fit_model()
    home = folder / ".shipyard"
    ws = Workspace(load_settings(home=str(home), capture_packages=False))
    try:
        run = ws.tracking.create_run("bench-serving")
        example = pd.DataFrame(matrix[:5], columns=names)
        # bc:1 is the benchmark's model; the canary (bc:2) and the shadow (bc:3) are other fits
        for i, candidate in enumerate([model, *(fit_model(c)[0] for c in OTHER_C)]):
            ws.registry.register("bc", ws.models.log_model(run.id, candidate, f"model-{i}", example))
        ws.tracking.end_run(run.id)
        spec = {"max_batch_size": 64, "max_wait_ms": 0.0} if batching else None
        if mode in ("plain", "logged"):
            ws.serving.deploy("bench", model="bc:1", batching=spec)
        else:
            ws.serving.deploy("bench", model="bc:1", canary="bc:2=10%", shadow="bc:3", batching=spec)
    finally:
        ws.close()
    return {"home": str(home), "expected": int(model.predict(matrix[:1])[0])}


def setup_mlflow(folder: Path) -> dict[str, Any]:
    import mlflow.sklearn
    import pandas as pd

    model, names, matrix = fit_model()
    example = pd.DataFrame(matrix[:5], columns=names)
    mlflow.sklearn.save_model(model, str(folder / "model"), input_example=example)
    return {"expected": int(model.predict(matrix[:1])[0])}


BENTO_SERVICE = """
import bentoml
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression


@bentoml.service(workers=1)
class BreastCancer:
    def __init__(self) -> None:
        data = load_breast_cancer()
        self.names = [str(n).replace(" ", "_") for n in data.feature_names]
        self.model = LogisticRegression(max_iter=5000).fit(data.data, data.target)

    @bentoml.api
    def predict(self, instances: list[dict]) -> list[int]:
        matrix = np.array([[row[name] for name in self.names] for row in instances], dtype=np.float64)
        return self.model.predict(matrix).tolist()
"""


def write_request(folder: Path, side: str) -> tuple[Path, dict[str, Any]]:
    """The request body of ``side`` (one row) written for wrk, and as a Python object."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    row = {str(n).replace(" ", "_"): float(v) for n, v in zip(data.feature_names, data.data[0], strict=True)}
    body: dict[str, Any] = {"dataframe_records": [row]} if side == "mlflow" else {"instances": [row]}
    path = folder / f"{side}-body.json"
    path.write_text(json.dumps(body))
    return path, body


# -- servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    side: str, folder: Path, setup: dict[str, Any], python: Path, port: int
) -> subprocess.Popen[bytes]:
    bin_dir = str(python.parent)
    if side in SHIPYARD_SIDES:
        env = clean_env({"SHIPYARD_HOME": setup["home"], "SHIPYARD_CAPTURE_PACKAGES": "false"}, "SHIPYARD_")
        argv = [str(Path(bin_dir) / "shipyard"), "serve", "bench", "--port", str(port)]
        if side == "plain":
            argv.append("--no-prediction-log")
    elif side == "mlflow":
        env = clean_env({"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}, "MLFLOW_")
        argv = [str(Path(bin_dir) / "mlflow"), "models", "serve", "-m", str(folder / "model"),
                "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]  # fmt: skip
    else:
        env = clean_env({"BENTOML_DO_NOT_TRACK": "true", "PYTHONPATH": str(folder)}, "BENTOML_")
        argv = [str(Path(bin_dir) / "bentoml"), "serve", "service:BreastCancer", "--port", str(port)]
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    out = (folder / f"{side}-server.log").open("wb")
    return subprocess.Popen(
        argv, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def predict_url(side: str, port: int) -> str:
    path = {"mlflow": "/invocations", "bentoml": "/predict"}.get(side, "/v1/deployments/bench/predict")
    return f"http://127.0.0.1:{port}{path}"


def first_answer(side: str, port: int, body: dict[str, Any], proc: subprocess.Popen[bytes]) -> Any:
    """The server's answer to one request, retried until it is up."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    data = json.dumps(body).encode()
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{side} server exited with {proc.returncode}")
        request = urllib.request.Request(predict_url(side, port), data, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return json.loads(answer.read())
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{side} server did not answer within {STARTUP_TIMEOUT_S:.0f} s")


def predicted(side: str, answer: Any) -> int:
    if side == "mlflow":
        return int(answer["predictions"][0])
    if side == "bentoml":
        return int(answer[0])
    return int(answer["predictions"][0])


def wrk(url: str, script: Path, seconds: float) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--timeout", "10s", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    match = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", out)
    if match is None:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    requests, duration_us, errors, non2xx, p50, p99 = (int(g) for g in match.groups())
    return {
        "requests": requests,
        "rps": requests / (duration_us / 1e6),
        "p50_ms": p50 / 1000.0,
        "p99_ms": p99 / 1000.0,
        "errors": errors,
        "non_2xx": non2xx,
    }


def measure(side: str, python: Path, quick: bool, batching: bool) -> dict[str, Any]:
    """Set up ``side`` in a fresh folder, start its server, check one answer, run wrk."""
    with tempfile.TemporaryDirectory(prefix=f"bench-serving-{side}-") as tmp:
        folder = Path(tmp)
        log(f"{side}: setting up")
        if side in SHIPYARD_SIDES:
            setup = run_worker(python, ["--setup", side] + ([] if batching else ["--no-batching"]), folder)
        elif side == "mlflow":
            setup = run_worker(python, ["--setup", "mlflow"], folder)
        else:
            (folder / "service.py").write_text(textwrap.dedent(BENTO_SERVICE))
            setup = run_worker(python, ["--setup", "bentoml"], folder)
        body_path, body = write_request(folder, side)
        script = folder / "post.lua"
        script.write_text(LUA.replace("{body}", str(body_path)))
        port = free_port()
        proc = start_server(side, folder, setup, python, port)
        try:
            got = predicted(side, first_answer(side, port, body, proc))
            if got != setup["expected"]:
                raise RuntimeError(f"{side} predicted {got}, the model predicts {setup['expected']}")
            log(f"{side}: warming up, then measuring")
            wrk(predict_url(side, port), script, 1 if quick else 3)
            result = wrk(predict_url(side, port), script, 4 if quick else 15)
        finally:
            stop_server(proc)
        if result["errors"] or result["non_2xx"]:
            tail = (folder / f"{side}-server.log").read_text(errors="replace")[-2000:]
            return {
                **result,
                "error": f"{result['non_2xx']} non-2xx answers, {result['errors']} errors\n{tail}",
            }
        return result


def run_worker(python: Path, args: list[str], folder: Path) -> dict[str, Any]:
    out = subprocess.run(
        [str(python), str(Path(__file__).resolve()), *args, "--folder", str(folder)],
        capture_output=True, text=True, check=False, cwd=folder,
    )  # fmt: skip
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"setup {args} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def worker_main(args: Any) -> int:
    folder = Path(args.folder)
    if args.setup in SHIPYARD_SIDES:
        result = setup_shipyard(folder, args.setup, batching=not args.no_batching)
    elif args.setup == "mlflow":
        result = setup_mlflow(folder)
    else:
        model, _, matrix = fit_model()
        result = {"expected": int(model.predict(matrix[:1])[0])}
    print(json.dumps(result))
    return 0


# -- report --------------------------------------------------------------------------------


def report(results: dict[str, dict[str, Any]]) -> tuple[list[str], dict[str, Any]]:
    lines, verdicts = [], {}
    for side in WORKLOADS:
        r = results.get(side)
        if r is None:
            continue
        if "error" in r:
            lines.append(f"serving.{side}: FAILED ({r['error'].splitlines()[0]})")
            continue
        lines.append(
            f"serving.{side}: {r['rps']:,.0f} req/s, p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms "
            f"({r['requests']:,} requests, {CONNECTIONS} connections)"
        )
    ok = {s: r for s, r in results.items() if "error" not in r}
    plain, logged, full, mlflow, bento = (ok.get(s) for s in WORKLOADS)
    if plain and mlflow:
        ratio = plain["rps"] / mlflow["rps"]
        good = ratio >= TARGET_VS_MLFLOW and plain["p99_ms"] <= TARGET_P99_MS
        verdicts["vs_mlflow"] = {"ratio": round(ratio, 1), "p99_ms": plain["p99_ms"], "ok": good}
        lines.append(
            f"serving.vs_mlflow: ratio {ratio:.1f}x (target >= {TARGET_VS_MLFLOW:g}x), "
            f"p99 {plain['p99_ms']:.2f} ms (target <= {TARGET_P99_MS:g} ms) "
            f"{'OK' if good else 'BELOW TARGET'}"
        )
    elif plain:
        good = plain["p99_ms"] <= TARGET_P99_MS
        lines.append(
            f"serving.p99: {plain['p99_ms']:.2f} ms (target <= {TARGET_P99_MS:g} ms) "
            f"{'OK' if good else 'BELOW TARGET'}"
        )
    if plain and full:
        share = full["rps"] / plain["rps"]
        verdicts["full_vs_plain"] = {"share": round(share, 3), "ok": share >= TARGET_FULL_SHARE}
        lines.append(
            f"serving.full_vs_plain: {share:.0%} of plain with canary, shadow and prediction log "
            f"(target >= {TARGET_FULL_SHARE:.0%}) {'OK' if share >= TARGET_FULL_SHARE else 'BELOW TARGET'}"
        )
    if plain and logged:
        lines.append(
            f"serving.log_cost: the prediction log keeps {logged['rps'] / plain['rps']:.0%} of plain"
        )
    if logged and full:
        lines.append(f"serving.full_vs_logged: {full['rps'] / logged['rps']:.0%} of plain with the log on")
    if plain and bento:
        ratio = plain["rps"] / bento["rps"]
        verdicts["vs_bentoml"] = {"ratio": round(ratio, 1)}
        lines.append(f"serving.vs_bentoml: ratio {ratio:.1f}x (no target)")
    return lines, verdicts


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__.splitlines()[0] if __doc__ else None, "MLflow and BentoML", WORKLOADS)
    parser.add_argument("--no-batching", action="store_true", help="Shipyard without micro-batching")
    parser.add_argument("--setup", choices=WORKLOADS, help=argparse_hidden())
    parser.add_argument("--folder", help=argparse_hidden())
    args = parser.parse_args(argv)
    if args.setup:
        return worker_main(args)
    if shutil.which("wrk") is None:
        print("serving: wrk is not installed (apt-get install -y wrk); nothing measured", file=sys.stderr)
        return 1
    wanted = args.workload or WORKLOADS
    sides = [s for s in wanted if not (args.skip_peer and s in ("mlflow", "bentoml"))]
    sides = [s for s in sides if not (args.skip_shipyard and s in SHIPYARD_SIDES)]
    results: dict[str, dict[str, Any]] = {}
    for side in sides:
        python = {
            "mlflow": lambda: peer_python("mlflow", MLFLOW_REQUIREMENTS),
            "bentoml": lambda: peer_python("bentoml", BENTOML_REQUIREMENTS),
        }.get(side, lambda: Path(sys.executable))()
        try:
            results[side] = measure(side, Path(python), args.quick, batching=not args.no_batching)
        except Exception as exc:
            results[side] = {"error": f"{type(exc).__name__}: {exc}"}
        if not args.json:
            print(report({side: results[side]})[0][0], flush=True)
    lines, verdicts = report(results)
    if not args.json:
        for line in lines[len(results) :]:
            print(line)
    summary = {
        "benchmark": "serving",
        "peers": {"mlflow": MLFLOW_REQUIREMENTS[0], "bentoml": BENTOML_REQUIREMENTS[0]},
        "quick": args.quick,
        "batching": not args.no_batching,
        "results": results,
        "verdicts": verdicts,
    }
    print(json.dumps(summary))
    return 1 if any("error" in r for r in results.values()) else 0


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    sys.exit(main())
