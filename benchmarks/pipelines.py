"""Pipelines: Shipyard against Prefect 3 (local, ephemeral server) on the same DAGs of no-op steps.

Workloads (each side in a fresh temporary directory and a fresh process per workload; a
small warm-up run first, untimed, so that database creation and Prefect's ephemeral server
start are not counted):

1. ``chain``         100 steps in a chain, each returning its input + 1. Shipyard runs with
                     the cache off (every step runs); Prefect calls its tasks in sequence.
2. ``branches``      the same 100 steps as 20 independent branches of 5; Shipyard's local
                     executor runs ready branches in worker processes, Prefect submits its
                     tasks to its default (thread pool) task runner.
3. ``cached_chain``  Shipyard only: the chain again with every step cached (target < 1 s).

Per-step overhead is the wall time divided by the number of steps (the steps do nothing).
The target is a per-step overhead at least 5x lower than Prefect's.

Run ``python benchmarks/pipelines.py`` with the project venv; ``--quick`` uses 20 steps
(4 branches), ``--json`` prints only the JSON summary, ``--skip-peer`` measures Shipyard
alone. Prefect is installed on first use into ``.bench/venvs/prefect``. The exit code is 0
whether or not the targets are met; it is 1 only when a side failed to run.

The file is also the worker: ``pipelines.py --worker {shipyard,prefect} --workload NAME``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _peer import bench_parser, clean_env, log, peer_python, run_json

# The recipe of PEERS.md: newer FastAPI releases break Prefect's ephemeral server.
PREFECT_REQUIREMENTS = ["prefect", "fastapi<0.125"]
WORKER_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class Sizes:
    steps: int = 100
    width: int = 20

    @classmethod
    def for_mode(cls, quick: bool) -> Sizes:
        return cls(20, 4) if quick else cls()

    @property
    def depth(self) -> int:
        return self.steps // self.width


@dataclass(frozen=True)
class Workload:
    name: str
    target: float  # the least Prefect / Shipyard ratio of per-step overhead; for cached_chain, max seconds
    peer: bool = True


WORKLOADS = [Workload("chain", 5.0), Workload("branches", 5.0), Workload("cached_chain", 1.0, peer=False)]


# --------------------------------------------------------------------------- Shipyard side


def _sy_pipelines(sizes: Sizes) -> tuple[Any, Any, Any]:
    import shipyard as sy

    @sy.step
    def noop(x: int) -> int:
        return x + 1

    @sy.pipeline(name="chain")
    def chain() -> Any:
        x = noop(0)
        for _ in range(sizes.steps - 1):
            x = noop(x)
        return x

    @sy.pipeline(name="branches")
    def branches() -> Any:
        ends = []
        for branch in range(sizes.width):
            x = noop(branch * 1000)
            for _ in range(sizes.depth - 1):
                x = noop(x)
            ends.append(x)
        return tuple(ends)

    @sy.pipeline(name="warmup")
    def warmup() -> Any:
        return noop(noop(-10))

    return chain, branches, warmup


def _sy_worker(workload: str, sizes: Sizes) -> dict[str, Any]:
    import shipyard as sy

    chain, branches, warmup = _sy_pipelines(sizes)
    sy.pipelines.run(warmup, cache=False)
    if workload == "cached_chain":
        first = sy.pipelines.run(chain)
        start = time.perf_counter()
        run = sy.pipelines.run(chain)
        seconds = time.perf_counter() - start
        hits = sum(s.cache_hit for s in sy.pipelines.step_runs(run.id))
        return {"seconds": seconds, "steps": sizes.steps, "cache_hits": hits, "first_s": _duration(first)}
    pipeline = chain if workload == "chain" else branches
    start = time.perf_counter()
    run = sy.pipelines.run(pipeline, cache=False)
    seconds = time.perf_counter() - start
    if run.status.value != "succeeded":
        raise RuntimeError(f"the Shipyard run failed: {run.error}")
    last = sy.pipelines.output(run.id)
    return {
        "seconds": seconds,
        "steps": sizes.steps,
        "result": last if workload == "chain" else sum(last.values()),
    }


def _duration(run: Any) -> float:
    return (run.ended_at - run.created_at) / 1000


# --------------------------------------------------------------------------- Prefect side


def _prefect_worker(workload: str, sizes: Sizes) -> dict[str, Any]:
    from prefect import flow, task

    @task
    def noop(x: int) -> int:
        return x + 1

    @flow
    def chain() -> int:
        x = noop(0)
        for _ in range(sizes.steps - 1):
            x = noop(x)
        return x

    @flow
    def branches() -> int:
        ends = []
        for branch in range(sizes.width):
            x = noop.submit(branch * 1000)
            for _ in range(sizes.depth - 1):
                x = noop.submit(x)
            ends.append(x)
        return sum(f.result() for f in ends)

    @flow
    def warmup() -> int:
        return noop(noop(-10))

    import prefect

    warmup()
    start = time.perf_counter()
    result = chain() if workload == "chain" else branches()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "steps": sizes.steps, "result": result, "version": prefect.__version__}


def worker_main(side: str, workload: str, quick: bool) -> int:
    """Run one workload in this process and print its result (or its failure) as one JSON line."""
    sizes = Sizes.for_mode(quick)
    try:
        result = (_sy_worker if side == "shipyard" else _prefect_worker)(workload, sizes)
    except Exception as exc:
        traceback.print_exc()
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 1
    print(json.dumps(result))
    return 0


# --------------------------------------------------------------------------- driver


def _run_side(side: str, python: Path | str, workload: str, quick: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-pipelines-{side}-") as tmp:
        workdir = Path(tmp)
        if side == "shipyard":
            extra = {"SHIPYARD_HOME": str(workdir / ".shipyard"), "SHIPYARD_CAPTURE_PACKAGES": "false"}
        else:
            extra = {
                "PREFECT_HOME": str(workdir / "prefect"),
                "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE": "true",
                "PREFECT_LOGGING_LEVEL": "WARNING",
                "DO_NOT_TRACK": "1",
            }
        env = clean_env(extra, "PREFECT_")
        env.update(extra)
        argv = [str(python), str(Path(__file__).resolve()), "--worker", side, "--workload", workload]
        if quick:
            argv.append("--quick")
        log(f"{workload}: running {side}")
        try:
            return run_json(argv, env=env, cwd=workdir, timeout=WORKER_TIMEOUT_S)
        except Exception as exc:
            return {"error": f"{type(exc).__name__}: {exc}"}


def _per_step_ms(result: dict[str, Any]) -> float:
    return 1000 * result["seconds"] / result["steps"]


def _report(workload: Workload, sy: dict[str, Any] | None, peer: dict[str, Any] | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"target": workload.target, "shipyard": sy, "prefect": peer}
    parts = []
    for side, result in (("shipyard", sy), ("prefect", peer)):
        if result is None:
            continue
        if "error" in result:
            parts.append(f"{side} FAILED ({result['error']})")
        else:
            label = f"{side} {result['version']}" if "version" in result else side
            parts.append(f"{label} {result['seconds']:.3f} s ({_per_step_ms(result):.2f} ms/step)")
    line = f"pipelines.{workload.name}: " + (", ".join(parts) or "not measured")
    sy_ok = sy is not None and "error" not in sy
    if not workload.peer and sy_ok:
        assert sy is not None
        ok = sy["seconds"] < workload.target and sy.get("cache_hits") == sy["steps"]
        entry["ok"] = ok
        line += f", {sy['cache_hits']}/{sy['steps']} cached (target < {workload.target:g} s) "
        line += "OK" if ok else "BELOW TARGET"
    elif sy_ok and peer is not None and "error" not in peer:
        assert sy is not None
        ratio = _per_step_ms(peer) / max(_per_step_ms(sy), 1e-9)
        entry.update(ratio=round(ratio, 2), ok=ratio >= workload.target)
        line += f", ratio {ratio:.1f}x (target >= {workload.target:g}x) "
        line += "OK" if ratio >= workload.target else "BELOW TARGET"
        if sy.get("result") != peer.get("result"):
            line += f" WARNING results differ: {sy.get('result')} vs {peer.get('result')}"
    entry["line"] = line
    return entry


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench_parser(
        __doc__.splitlines()[0] if __doc__ else None, "Prefect", [w.name for w in WORKLOADS]
    )
    parser.add_argument("--worker", choices=["shipyard", "prefect"], help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.workload[0], args.quick)
    peer = None if args.skip_peer else peer_python("prefect", PREFECT_REQUIREMENTS)
    failed = False
    results: dict[str, Any] = {}
    for workload in [w for w in WORKLOADS if not args.workload or w.name in args.workload]:
        sy = None if args.skip_shipyard else _run_side("shipyard", sys.executable, workload.name, args.quick)
        theirs = None
        if peer is not None and workload.peer:
            theirs = _run_side("prefect", peer, workload.name, args.quick)
        failed = failed or any(r is not None and "error" in r for r in (sy, theirs))
        entry = results[workload.name] = _report(workload, sy, theirs)
        if not args.json:
            print(entry["line"], flush=True)
    sizes = Sizes.for_mode(args.quick)
    summary = {
        "benchmark": "pipelines",
        "peer": "prefect",
        "quick": args.quick,
        "steps": sizes.steps,
        "width": sizes.width,
        "results": results,
    }
    print(json.dumps(summary))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
