"""Experiment tracking: Shipyard against MLflow 3.17.2 (SQLite backend) on the same workloads.

Workloads (the same seeded data on both sides, each side in a fresh temporary directory and
a fresh process per workload):

1. ``log_metric``      2,000 single metric calls on one run, timed until durable.
2. ``log_batch``       100,000 metrics (1,000 steps x 100 keys) logged in batches, until durable.
3. ``metric_history``  reading a 100,000-point history of one key (best of 3).
4. ``search_runs``     a filtered, ordered search over 2,000 runs with 20 params and
                       20 metrics each (best of 3).

Run ``python benchmarks/tracking.py`` with the project venv; ``--quick`` divides every size
by 10, ``--json`` prints only the JSON summary, ``--skip-peer`` measures Shipyard alone and
``--skip-shipyard`` MLflow alone. MLflow is installed on first use into
``.bench/venvs/mlflow``. The exit code is 0 whether or not the targets are met; it is 1 only
when a side failed to run.

The same file is also the worker: ``tracking.py --worker {shipyard,mlflow} --workload NAME``
runs one workload in the current interpreter and prints its timings as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from _peer import bench_parser, clean_env, log, peer_python, run_json

MLFLOW_REQUIREMENTS = ["mlflow==3.17.2", "scikit-learn", "pandas"]
SEED = 20261123
MLFLOW_BATCH_LIMIT = 1000  # the most metrics MLflow accepts in one log_batch call
SEARCH_FILTER = "metrics.m3 > 0.5 and params.p1 = 'a'"
WORKER_TIMEOUT_S = 900.0

T = TypeVar("T")


@dataclass(frozen=True)
class Sizes:
    log_metric: int = 2000
    batch_steps: int = 1000
    batch_keys: int = 100
    history_points: int = 100_000
    search_runs: int = 2000
    search_params: int = 20
    search_metrics: int = 20

    @classmethod
    def for_mode(cls, quick: bool) -> Sizes:
        if not quick:
            return cls()
        return cls(log_metric=200, batch_steps=100, history_points=10_000, search_runs=200)


@dataclass(frozen=True)
class Workload:
    name: str
    target: float
    what: str

    def count(self, sizes: Sizes) -> int:
        return {
            "log_metric": sizes.log_metric,
            "log_batch": sizes.batch_steps * sizes.batch_keys,
            "metric_history": sizes.history_points,
            "search_runs": sizes.search_runs,
        }[self.name]


WORKLOADS = [
    Workload("log_metric", 50.0, "metrics"),
    Workload("log_batch", 40.0, "metrics"),
    Workload("metric_history", 30.0, "points"),
    Workload("search_runs", 10.0, "runs"),
]


class MissingAPIError(Exception):
    """The Shipyard SDK is not importable or lacks part of the API this benchmark uses."""


# --------------------------------------------------------------------------- shared data


def _metric_values(n: int) -> list[float]:
    import numpy as np

    return [float(x) for x in np.random.default_rng(SEED).random(n)]


def _batch_matrix(sizes: Sizes) -> list[list[float]]:
    import numpy as np

    matrix = np.random.default_rng(SEED + 1).random((sizes.batch_steps, sizes.batch_keys))
    return [[float(x) for x in row] for row in matrix]


def _search_data(sizes: Sizes) -> list[tuple[dict[str, str], dict[str, float]]]:
    """Params and metrics for each run; ``p1`` is one of a-d, every metric uniform in [0, 1)."""
    import numpy as np

    rng = np.random.default_rng(SEED + 2)
    metrics = rng.random((sizes.search_runs, sizes.search_metrics))
    codes = rng.integers(0, 1000, size=(sizes.search_runs, sizes.search_params))
    letters = rng.choice(["a", "b", "c", "d"], size=sizes.search_runs)
    runs = []
    for i in range(sizes.search_runs):
        params = {f"p{j}": f"v{codes[i, j]}" for j in range(sizes.search_params)}
        params["p1"] = str(letters[i])
        runs.append((params, {f"m{j}": float(metrics[i, j]) for j in range(sizes.search_metrics)}))
    return runs


def _expected_matches(runs: list[tuple[dict[str, str], dict[str, float]]]) -> int:
    return sum(1 for params, metrics in runs if metrics["m3"] > 0.5 and params["p1"] == "a")


def _timed(fn: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _best_of(repeat: int, fn: Callable[[], T]) -> tuple[float, T]:
    timings = [_timed(fn) for _ in range(repeat)]
    return min(timings, key=lambda pair: pair[0])


# --------------------------------------------------------------------------- Shipyard side


def _shipyard() -> Any:
    try:
        import shipyard as sy
    except ImportError as exc:
        raise MissingAPIError(f"cannot import shipyard ({exc}); run with the project venv") from exc
    missing = []
    for name in ("start_run", "get_metric_history", "search_runs"):
        try:
            getattr(sy, name)
        except Exception:
            missing.append(f"sy.{name}")
    if missing:
        raise MissingAPIError(f"the Shipyard SDK does not provide {', '.join(missing)} yet")
    return sy


def _sy_log_metric(sizes: Sizes) -> dict[str, Any]:
    sy = _shipyard()
    values = _metric_values(sizes.log_metric)
    with sy.start_run(experiment="bench-log-metric") as run:

        def log_all() -> None:
            for step, value in enumerate(values):
                run.log_metric("loss", value, step=step)
            run.flush()

        seconds, _ = _timed(log_all)
    return {"seconds": seconds}


def _sy_log_batch(sizes: Sizes) -> dict[str, Any]:
    sy = _shipyard()
    rows = [{f"m{k}": v for k, v in enumerate(row)} for row in _batch_matrix(sizes)]
    with sy.start_run(experiment="bench-log-batch") as run:

        def log_all() -> None:
            for step, row in enumerate(rows):
                run.log_metrics(row, step=step)
            run.flush()

        seconds, _ = _timed(log_all)
    return {"seconds": seconds}


def _sy_metric_history(sizes: Sizes) -> dict[str, Any]:
    sy = _shipyard()
    values = _metric_values(sizes.history_points)
    start = time.perf_counter()
    with sy.start_run(experiment="bench-history") as run:
        for step, value in enumerate(values):
            run.log_metric("loss", value, step=step)
        run.flush()
        run_id = run.id
    setup = time.perf_counter() - start
    seconds, frame = _best_of(3, lambda: sy.get_metric_history(run_id, "loss"))
    return {"seconds": seconds, "rows": len(frame), "expected_rows": len(values), "setup_s": setup}


def _sy_search_runs(sizes: Sizes) -> dict[str, Any]:
    sy = _shipyard()
    runs = _search_data(sizes)
    start = time.perf_counter()
    for params, metrics in runs:
        with sy.start_run(experiment="bench-search") as run:
            run.log_params(params)
            run.log_metrics(metrics)
    setup = time.perf_counter() - start

    def search() -> Any:
        return sy.search_runs(
            experiment="bench-search",
            filter=SEARCH_FILTER,
            order_by="metrics.m1 desc",
            max_results=sizes.search_runs,
        )

    seconds, frame = _best_of(3, search)
    return {
        "seconds": seconds,
        "rows": len(frame),
        "expected_rows": _expected_matches(runs),
        "setup_s": setup,
    }


# --------------------------------------------------------------------------- MLflow side


def _mlflow(workdir: Path, experiment: str) -> tuple[Any, Any, str]:
    """Point MLflow at a fresh SQLite database in ``workdir``; return (mlflow, client, experiment id)."""
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    experiment_id = client.create_experiment(experiment, artifact_location=(workdir / "artifacts").as_uri())
    mlflow.set_experiment(experiment_id=experiment_id)
    return mlflow, client, experiment_id


def _mlflow_metrics(key_values: list[tuple[str, float, int]]) -> list[Any]:
    from mlflow.entities import Metric

    now_ms = int(time.time() * 1000)
    return [Metric(key, value, now_ms, step) for key, value, step in key_values]


def _mlflow_log_chunks(client: Any, run_id: str, metrics: list[Any]) -> None:
    for i in range(0, len(metrics), MLFLOW_BATCH_LIMIT):
        client.log_batch(run_id, metrics=metrics[i : i + MLFLOW_BATCH_LIMIT])


def _mlflow_log_metric(sizes: Sizes, workdir: Path) -> dict[str, Any]:
    mlflow, _, _ = _mlflow(workdir, "bench-log-metric")
    values = _metric_values(sizes.log_metric)
    with mlflow.start_run():

        def log_all() -> None:
            for step, value in enumerate(values):
                mlflow.log_metric("loss", value, step=step)

        seconds, _ = _timed(log_all)
    return {"seconds": seconds}


def _mlflow_log_batch(sizes: Sizes, workdir: Path) -> dict[str, Any]:
    _, client, experiment_id = _mlflow(workdir, "bench-log-batch")
    matrix = _batch_matrix(sizes)
    metrics = _mlflow_metrics(
        [(f"m{k}", value, step) for step, row in enumerate(matrix) for k, value in enumerate(row)]
    )
    run_id = client.create_run(experiment_id).info.run_id
    seconds, _ = _timed(lambda: _mlflow_log_chunks(client, run_id, metrics))
    client.set_terminated(run_id)
    return {"seconds": seconds}


def _mlflow_metric_history(sizes: Sizes, workdir: Path) -> dict[str, Any]:
    _, client, experiment_id = _mlflow(workdir, "bench-history")
    values = _metric_values(sizes.history_points)
    start = time.perf_counter()
    run_id = client.create_run(experiment_id).info.run_id
    _mlflow_log_chunks(client, run_id, _mlflow_metrics([("loss", v, step) for step, v in enumerate(values)]))
    client.set_terminated(run_id)
    setup = time.perf_counter() - start
    seconds, history = _best_of(3, lambda: client.get_metric_history(run_id, "loss"))
    return {"seconds": seconds, "rows": len(history), "expected_rows": len(values), "setup_s": setup}


def _mlflow_search_runs(sizes: Sizes, workdir: Path) -> dict[str, Any]:
    from mlflow.entities import Param

    mlflow, client, experiment_id = _mlflow(workdir, "bench-search")
    runs = _search_data(sizes)
    start = time.perf_counter()
    for params, metrics in runs:
        run_id = client.create_run(experiment_id).info.run_id
        client.log_batch(
            run_id,
            metrics=_mlflow_metrics([(k, v, 0) for k, v in metrics.items()]),
            params=[Param(k, v) for k, v in params.items()],
        )
        client.set_terminated(run_id)
    setup = time.perf_counter() - start

    def search() -> Any:
        return mlflow.search_runs(
            experiment_names=["bench-search"],
            filter_string=SEARCH_FILTER,
            order_by=["metrics.m1 DESC"],
            max_results=sizes.search_runs,
        )

    seconds, frame = _best_of(3, search)
    return {
        "seconds": seconds,
        "rows": len(frame),
        "expected_rows": _expected_matches(runs),
        "setup_s": setup,
    }


SHIPYARD_WORKERS: dict[str, Callable[[Sizes], dict[str, Any]]] = {
    "log_metric": _sy_log_metric,
    "log_batch": _sy_log_batch,
    "metric_history": _sy_metric_history,
    "search_runs": _sy_search_runs,
}
MLFLOW_WORKERS: dict[str, Callable[[Sizes, Path], dict[str, Any]]] = {
    "log_metric": _mlflow_log_metric,
    "log_batch": _mlflow_log_batch,
    "metric_history": _mlflow_metric_history,
    "search_runs": _mlflow_search_runs,
}


def worker_main(side: str, workload: str, quick: bool) -> int:
    """Run one workload in this process and print its result (or its failure) as one JSON line."""
    sizes = Sizes.for_mode(quick)
    try:
        if side == "shipyard":
            result = SHIPYARD_WORKERS[workload](sizes)
        else:
            result = MLFLOW_WORKERS[workload](sizes, Path.cwd())
    except MissingAPIError as exc:
        print(json.dumps({"error": str(exc), "kind": "missing_api"}))
        return 1
    except Exception as exc:
        traceback.print_exc()
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}", "kind": "crash"}))
        return 1
    print(json.dumps(result))
    return 0


# --------------------------------------------------------------------------- driver


def _run_side(side: str, python: Path | str, workload: str, quick: bool) -> dict[str, Any]:
    """Run one workload of one side in a fresh process and a fresh temporary directory."""
    with tempfile.TemporaryDirectory(prefix=f"bench-tracking-{side}-") as tmp:
        workdir = Path(tmp)
        if side == "shipyard":
            env = _env({"SHIPYARD_HOME": str(workdir / ".shipyard"), "SHIPYARD_CAPTURE_PACKAGES": "false"})
        else:
            env = _env({"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"})
        env["GIT_PYTHON_REFRESH"] = "quiet"
        argv = [str(python), str(Path(__file__).resolve()), "--worker", side, "--workload", workload]
        if quick:
            argv.append("--quick")
        log(f"{workload}: running {side}")
        try:
            return run_json(argv, env=env, cwd=workdir, timeout=WORKER_TIMEOUT_S)
        except Exception as exc:
            return {"error": f"{type(exc).__name__}: {exc}", "kind": "crash"}


def _fmt_s(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f}"
    return f"{seconds:.3f}" if seconds >= 0.01 else f"{seconds:.2g}"


def _side_text(side: str, result: dict[str, Any] | None, count: int, what: str, alone: bool) -> str:
    if result is None:
        return f"{side} not measured"
    if "error" in result:
        return f"{side} FAILED ({result['error']})"
    text = f"{side} {_fmt_s(result['seconds'])} s"
    if alone:
        text += f" ({count:,} {what}, {count / result['seconds']:,.0f} {what}/s)"
    return text


def _report(
    workload: Workload, sizes: Sizes, sy: dict[str, Any] | None, peer: dict[str, Any] | None
) -> dict[str, Any]:
    """Summarize one workload as a JSON-able dict, with the human line under "line"."""
    count = workload.count(sizes)
    entry: dict[str, Any] = {"n": count, "target": workload.target, "shipyard": sy, "mlflow": peer}
    both = sy is not None and peer is not None and "error" not in sy and "error" not in peer
    parts = [
        _side_text("shipyard", sy, count, workload.what, alone=not both),
        _side_text("mlflow", peer, count, workload.what, alone=not both),
    ]
    measured = [p for p in parts if not p.endswith("not measured")]
    line = f"tracking.{workload.name}: " + (", ".join(measured) or "not measured")
    if both:
        assert sy is not None and peer is not None
        ratio = peer["seconds"] / max(sy["seconds"], 1e-9)
        entry.update(ratio=round(ratio, 2), ok=ratio >= workload.target)
        verdict = "OK" if ratio >= workload.target else "BELOW TARGET"
        line += f", ratio {ratio:.1f}x (target >= {workload.target:g}x) {verdict}"
    entry["line"] = line
    entry["warnings"] = _row_warnings(workload, sy, peer)
    return entry


def _row_warnings(workload: Workload, sy: dict[str, Any] | None, peer: dict[str, Any] | None) -> list[str]:
    warnings = []
    measured = {name: r for name, r in (("shipyard", sy), ("mlflow", peer)) if r and "rows" in r}
    for name, result in measured.items():
        if result["rows"] != result["expected_rows"]:
            warnings.append(
                f"tracking.{workload.name}: WARNING {name} returned {result['rows']} rows, "
                f"expected {result['expected_rows']}"
            )
    if len(measured) == 2 and measured["shipyard"]["rows"] != measured["mlflow"]["rows"]:
        warnings.append(
            f"tracking.{workload.name}: WARNING row counts differ: shipyard {measured['shipyard']['rows']}, "
            f"mlflow {measured['mlflow']['rows']}"
        )
    return warnings


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench_parser(__doc__.splitlines()[0] if __doc__ else None, "MLflow", [w.name for w in WORKLOADS])
    parser.add_argument("--worker", choices=["shipyard", "mlflow"], help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _env(extra: dict[str, str]) -> dict[str, str]:
    return clean_env(extra, "MLFLOW_")


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.workload[0], args.quick)
    sizes = Sizes.for_mode(args.quick)
    peer = None if args.skip_peer else peer_python("mlflow", MLFLOW_REQUIREMENTS)
    run_shipyard = not args.skip_shipyard
    failed = False
    results: dict[str, Any] = {}
    for workload in [w for w in WORKLOADS if not args.workload or w.name in args.workload]:
        sy = _run_side("shipyard", sys.executable, workload.name, args.quick) if run_shipyard else None
        if sy is not None and sy.get("kind") == "missing_api":
            rest = "measuring MLflow only" if peer is not None else "nothing left to measure"
            log(f"Shipyard SDK unavailable: {sy['error']}; {rest}")
            run_shipyard = False
        theirs = _run_side("mlflow", peer, workload.name, args.quick) if peer is not None else None
        failed = failed or any(r is not None and "error" in r for r in (sy, theirs))
        entry = _report(workload, sizes, sy, theirs)
        results[workload.name] = entry
        if not args.json:
            print(entry["line"], flush=True)
            for warning in entry["warnings"]:
                print(warning, flush=True)
    summary = {"benchmark": "tracking", "peer": "mlflow==3.17.2", "quick": args.quick, "results": results}
    print(json.dumps(summary))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
