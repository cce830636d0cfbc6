"""Drift detection: Shipyard against Evidently 0.7.23 (``Report([DataDriftPreset()])``) on the same files.

Data: 50 numeric and 10 categorical columns (8 categories each), a reference and a current
table of N rows each (N = 100,000 and 1,000,000 by default; ``--sizes`` picks others,
``--quick`` uses 10,000), seeded and written once to Parquet by a child process. The current
table drifts in some columns (location or scale shifts of several sizes, reweighted
categories) and not in others.

Both sides use the same test and threshold for every column, set explicitly: mostly what
Evidently picks by default at these sizes (Wasserstein, normed, >= 0.1 for numeric columns;
Jensen-Shannon >= 0.1 for categorical ones), with some columns on the other tests so that
every kind of decision is compared: 5 numeric columns on Kolmogorov-Smirnov (p <= 0.05),
5 on Jensen-Shannon, 3 categorical columns on chi-square (p < 0.05). Evidently gets them as
``per_column_method`` / ``per_column_threshold`` with a ``DataDefinition`` naming the
numeric and categorical columns; its per-column verdict is the status of its ``Value
Drift`` tests. (Kolmogorov-Smirnov p-values are scipy's ``kstwo``, which at 100,000 rows
costs some 30 ms a column on both sides; a benchmark of KS on every column would measure
scipy.)

Each side runs in a fresh process (imports excluded from the time, the Parquet reads
included): Evidently reads both files with ``pandas.read_parquet`` and runs the report;
Shipyard runs the workspace's ``monitoring.drift(Path(reference), Path(current), tests=...,
thresholds=...)`` (what ``sy.monitoring.drift`` calls, returning the ``DriftReport`` rather
than a DataFrame, so pandas is never imported), which reads the files column by column.
Peak memory is each worker's max RSS (``os.wait4``). Shipyard runs 3 times per size (the
median is compared; all are printed), Evidently once. Targets: >= 30x faster, <= 1/3 of
Evidently's peak memory, and the same drift decision for every column (mismatches are
listed).

``--skip-peer`` measures Shipyard alone; ``--json`` prints only the JSON summary. The exit
code is 0 whether or not the targets are met; 1 when a side failed to run. The file is its
own worker: ``monitoring.py --worker {shipyard,evidently} --data DIR`` prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from _peer import bench_parser, clean_env, log, peer_python, run_measured

EVIDENTLY_REQUIREMENTS = ["evidently==0.7.23", "pandas<3", "pyarrow"]
SEED = 20261124
N_NUMERIC, N_CATEGORICAL, N_CATEGORIES = 50, 10, 8
SIZES = [100_000, 1_000_000]
QUICK_SIZES = [10_000]
SHIPYARD_RUNS = 3
TIME_TARGET = 30.0
MEMORY_TARGET = 3.0
WORKER_TIMEOUT_S = 3600.0
NUMERIC_TESTS = [("wasserstein", 0.1), ("ks", 0.05), ("jensenshannon", 0.1)] + [("wasserstein", 0.1)] * 7
CATEGORICAL_TESTS = [("jensenshannon", 0.1), ("chisquare", 0.05), ("jensenshannon", 0.1)]


def numeric_names() -> list[str]:
    return [f"num_{j:02d}" for j in range(N_NUMERIC)]


def categorical_names() -> list[str]:
    return [f"cat_{k}" for k in range(N_CATEGORICAL)]


def plan() -> tuple[dict[str, str], dict[str, float]]:
    """The test and threshold of every column (Evidently's names; Shipyard accepts them)."""
    tests, thresholds = {}, {}
    for j, name in enumerate(numeric_names()):
        tests[name], thresholds[name] = NUMERIC_TESTS[j % len(NUMERIC_TESTS)]
    for k, name in enumerate(categorical_names()):
        tests[name], thresholds[name] = CATEGORICAL_TESTS[k % len(CATEGORICAL_TESTS)]
    return tests, thresholds


# --------------------------------------------------------------------------- data


def generate(folder: Path, rows: int) -> None:
    """Write ``reference.parquet`` and ``current.parquet`` (seeded) into ``folder``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(SEED + rows)
    labels = pa.array([f"category_{c}" for c in range(N_CATEGORIES)])
    for side in ("reference", "current"):
        columns: dict[str, Any] = {}
        for j, name in enumerate(numeric_names()):
            columns[name] = _numeric(rng, j, rows, drifted=side == "current")
        for k, name in enumerate(categorical_names()):
            weights = np.linspace(1.0, 2.0, N_CATEGORIES) + k * 0.1
            if side == "current" and k % 3 == 0:
                weights[k % N_CATEGORIES] *= 1.6  # one category gains share
            codes = rng.choice(N_CATEGORIES, size=rows, p=weights / weights.sum())
            columns[name] = labels.take(pa.array(codes))
        pq.write_table(pa.table(columns), folder / f"{side}.parquet")
        del columns


def _numeric(rng: Any, j: int, rows: int, drifted: bool) -> Any:
    """Column ``j``: its family by ``j % 5``, its drift (in the current table) by ``j % 7``."""
    import numpy as np

    family = j % 5
    if family == 0:
        values = rng.normal(10.0, 2.0, rows)
    elif family == 1:
        values = rng.lognormal(0.0, 0.5, rows)
    elif family == 2:
        values = rng.uniform(-1.0, 1.0, rows)
    elif family == 3:
        values = rng.exponential(3.0, rows)
    else:
        values = np.round(rng.normal(0.0, 1.0, rows), 1)  # many ties
    if drifted:
        spread = float(np.std(values))
        kind = j % 7
        if kind == 0:
            values = values + 0.3 * spread  # a clear shift
        elif kind == 1:
            values = values * 1.15  # a scale change
        elif kind == 2:
            values = values + 0.02 * spread  # a small shift
    return values


# --------------------------------------------------------------------------- workers


def evidently_worker(data: Path) -> dict[str, Any]:
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    tests, thresholds = plan()
    start = time.perf_counter()
    reference = pd.read_parquet(data / "reference.parquet")
    current = pd.read_parquet(data / "current.parquet")
    definition = DataDefinition(numerical_columns=numeric_names(), categorical_columns=categorical_names())
    report = Report(
        [DataDriftPreset(per_column_method=tests, per_column_threshold=thresholds)], include_tests=True
    )
    snapshot = report.run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    seconds = time.perf_counter() - start
    result = snapshot.dict()
    drifted = {}
    for test in result["tests"]:
        params = test.get("metric_config", {}).get("params", {})
        if params.get("type", "").endswith("ValueDrift"):
            drifted[params["column"]] = test["status"] != "SUCCESS"
    scores = {
        m["config"]["column"]: float(m["value"])
        for m in result["metrics"]
        if m["config"].get("type", "").endswith("ValueDrift")
    }
    return {"seconds": seconds, "rows": len(reference), "drifted": drifted, "scores": scores}


def shipyard_worker(data: Path) -> dict[str, Any]:
    import pyarrow.parquet  # noqa: F401  (imports are not timed, as on the Evidently side)
    import scipy.stats  # noqa: F401

    import shipyard.monitoring.detection  # noqa: F401
    from shipyard.workspace import current_workspace

    tests, thresholds = plan()
    monitoring = current_workspace().monitoring  # what sy.monitoring.drift calls, minus the DataFrame
    start = time.perf_counter()
    report = monitoring.drift(
        data / "reference.parquet", data / "current.parquet", tests=tests, thresholds=thresholds
    )
    seconds = time.perf_counter() - start
    scores = {c.column: float(c.p_value if c.p_value is not None else c.statistic) for c in report.columns}
    drifted = {c.column: c.drifted for c in report.columns}
    return {"seconds": seconds, "drifted": drifted, "scores": scores, "dataset_drift": report.drifted}


def worker_main(side: str, data: Path) -> int:
    try:
        result = shipyard_worker(data) if side == "shipyard" else evidently_worker(data)
    except Exception as exc:
        traceback.print_exc()
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 1
    print(json.dumps(result))
    return 0


# --------------------------------------------------------------------------- driver


def run_side(side: str, python: Path | str, data: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-monitoring-{side}-") as tmp:
        workdir = Path(tmp)
        if side == "shipyard":
            env = clean_env({"SHIPYARD_HOME": str(workdir / ".shipyard")}, "EVIDENTLY_")
        else:
            env = clean_env({"DO_NOT_TRACK": "1", "EVIDENTLY_DISABLE_TELEMETRY": "1"}, "EVIDENTLY_")
        argv = [str(python), str(Path(__file__).resolve()), "--worker", side, "--data", str(data)]
        return run_measured(argv, env, workdir, timeout=WORKER_TIMEOUT_S)


def compare(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """Columns whose drift decision differs, and the largest score difference."""
    mismatches = sorted(c for c in ours["drifted"] if ours["drifted"][c] != theirs["drifted"].get(c))
    gaps = [abs(ours["scores"][c] - theirs["scores"][c]) for c in ours["scores"] if c in theirs["scores"]]
    return {"mismatches": mismatches, "max_score_difference": max(gaps, default=0.0)}


def measure(rows: int, peer: Path | None, skip_shipyard: bool) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="bench-monitoring-"))
    try:
        start = time.perf_counter()
        log(f"generating {rows:,} x ({N_NUMERIC} numeric + {N_CATEGORICAL} categorical) columns, twice")
        generator = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--generate",
            str(root),
            "--rows",
            str(rows),
        ]
        subprocess.run(generator, check=True)
        size = sum(p.stat().st_size for p in root.glob("*.parquet"))
        log(f"data ready in {time.perf_counter() - start:.1f} s ({size / 1e6:,.0f} MB Parquet)")
        runs = []
        for i in range([0, SHIPYARD_RUNS][not skip_shipyard]):
            log(f"{rows:,} rows: shipyard run {i + 1}/{SHIPYARD_RUNS}")
            runs.append(run_side("shipyard", sys.executable, root))
        theirs = None
        if peer is not None:
            log(f"{rows:,} rows: evidently (this takes a while)")
            theirs = run_side("evidently", peer, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return report(rows, runs, theirs)


def report(rows: int, runs: list[dict[str, Any]], theirs: dict[str, Any] | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"rows": rows, "shipyard_runs": runs, "evidently": theirs}
    good = [r for r in runs if "error" not in r]
    parts = []
    ours = None
    if good:
        ours = sorted(good, key=lambda r: r["seconds"])[len(good) // 2]  # the median run
        secs = ", ".join(f"{r['seconds']:.2f}" for r in good)
        parts.append(
            f"shipyard {ours['seconds']:.2f} s (runs {secs}), peak {ours['peak_rss_bytes'] / 1e6:,.0f} MB"
        )
        entry["shipyard"] = {"seconds": ours["seconds"], "peak_rss_bytes": ours["peak_rss_bytes"]}
        entry["shipyard"]["median_of"] = len(good)
        entry["shipyard"]["seconds_all"] = [r["seconds"] for r in good]
        entry["shipyard"]["seconds_median"] = statistics.median(r["seconds"] for r in good)
    elif runs:
        parts.append(f"shipyard FAILED ({runs[0]['error']})")
    if theirs is not None:
        if "error" in theirs:
            parts.append(f"evidently FAILED ({theirs['error']})")
        else:
            parts.append(
                f"evidently {theirs['seconds']:.1f} s, peak {theirs['peak_rss_bytes'] / 1e6:,.0f} MB"
            )
    line = f"monitoring.drift[{rows:,}]: " + ", ".join(parts)
    if ours is not None and theirs is not None and "error" not in theirs:
        ratio = theirs["seconds"] / max(ours["seconds"], 1e-9)
        memory = theirs["peak_rss_bytes"] / max(ours["peak_rss_bytes"], 1)
        agreement = compare(ours, theirs)
        ok = ratio >= TIME_TARGET and memory >= MEMORY_TARGET and not agreement["mismatches"]
        entry.update(ratio=round(ratio, 1), memory_ratio=round(memory, 2), ok=ok, **agreement)
        line += (
            f", ratio {ratio:.1f}x (target >= {TIME_TARGET:g}x)"
            f" {'OK' if ratio >= TIME_TARGET else 'BELOW TARGET'}"
            f"; memory ratio {memory:.1f}x (target >= {MEMORY_TARGET:g}x)"
            f" {'OK' if memory >= MEMORY_TARGET else 'BELOW TARGET'}"
            f"; decisions: {len(ours['drifted']) - len(agreement['mismatches'])}/{len(ours['drifted'])} agree"
            f" (largest score difference {agreement['max_score_difference']:.1e})"
        )
        if agreement["mismatches"]:
            line += f"; MISMATCHES: {', '.join(agreement['mismatches'])}"
    if ours is not None:
        entry["n_drifted"] = sum(ours["drifted"].values())
    entry["line"] = line
    return entry


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench_parser(__doc__.splitlines()[0] if __doc__ else None, "Evidently", ["drift"])
    parser.add_argument("--sizes", help="comma-separated row counts (default 100000,1000000)")
    parser.add_argument("--worker", choices=["shipyard", "evidently"], help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.data)
    if args.generate:
        generate(args.generate, args.rows)
        return 0
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else (QUICK_SIZES if args.quick else SIZES)
    peer = None if args.skip_peer else peer_python("evidently", EVIDENTLY_REQUIREMENTS)
    if not args.json:
        print(
            "monitoring: time = Parquet reads + drift of 60 columns inside the worker (imports excluded); "
            "peak = the worker's max RSS (os.wait4); the same explicit test and threshold per column on "
            f"both sides; Shipyard median of {SHIPYARD_RUNS} runs",
            flush=True,
        )
    results = {}
    for rows in sizes:
        entry = measure(rows, peer, args.skip_shipyard)
        results[str(rows)] = entry
        if not args.json:
            print(entry["line"], flush=True)
    summary = {
        "benchmark": "monitoring",
        "peer": "evidently==0.7.23",
        "quick": args.quick,
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "results": results,
    }
    print(json.dumps(summary))
    failed = [
        r
        for e in results.values()
        for r in [*e["shipyard_runs"], e["evidently"]]
        if r is not None and "error" in r
    ]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
