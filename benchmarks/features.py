"""Feature store: Shipyard against Feast 0.67 on the same Parquet file in the same run.

The data (seeded, written once by a child process, read by both sides): 1,000,000 feature rows
of 10,000 users over the 90 days ending at the start of the current hour, columns ``user_id``
(int64), ``event_time`` (UTC), ``f1`` float (1 % NULL), ``f2`` int, ``f3`` string; an entity
frame of 100,000 rows (``user_id`` incl. 1 % unknown users, ``event_timestamp`` over the same
90 days, ``row_id``); one feature view ``user_stats`` with a TTL of 30 days.

Workloads, each side in a fresh process and a fresh temporary directory:

1. ``historical``: point-in-time retrieval of the 3 features for the entity frame (read before
   the clock starts). Shipyard ``sy.features.historical(entity_df, features=[...])``; Feast
   ``get_historical_features(...).to_df()`` with its DuckDB offline store (the target) and its
   file (Dask) offline store (reported). Time and peak RSS of the worker (``os.wait4``); the
   peak during the call alone is reported too. Targets: >= 5x faster, <= 1/2 the peak memory.
   A sample of 1,000 rows is compared between the sides; mismatches are printed.
2. ``materialize``: every entity's latest row into the SQLite online store (Shipyard's own
   ``online.db``; Feast's ``sqlite`` online store). Target >= 10x.
3. ``online``: 2,000 reads of one entity each, in-process, after 100 warm-up reads: p50/p99.
   Shipyard ``sy.features.online`` vs Feast ``get_online_features(...).to_dict()``: target p50
   no slower. Reported beside it: Shipyard over HTTP (``POST /api/v1/features/online`` to a
   ``shipyard server`` process on the materialized home; target p50 <= 1 ms) with a lean
   keep-alive client (one ``http.client`` connection, the request sent in one write, JSON
   encoded and decoded with ``json``), the floor of such a read on this machine (the same
   client against a bare Starlette route on uvicorn that answers a constant, read for read
   in turn with Shipyard's, so both see the same load), both again with a keep-alive
   ``httpx.Client`` (which alone costs a few hundred microseconds a read, so that even the
   floor misses 1 ms through it on a small machine), and Shipyard with
   ``SHIPYARD_ONLINE_URI`` on Redis (127.0.0.1:6379 db 14, its own key prefix, deleted
   afterwards; skipped when Redis is down).

Data libraries (pandas, pyarrow, DuckDB; ibis for Feast; redis for the Redis run) are
imported before any clock starts, on both sides; Feast's definitions are applied untimed.

Run ``python benchmarks/features.py`` with the project venv; ``--quick`` divides the rows,
users and entity rows by 10; ``--json``, ``--skip-peer``, ``--skip-shipyard`` and ``--workload``
as in every benchmark. Feast is installed on first use into ``.bench/venvs/feast``. The exit
code is 1 only when a side failed to run. Workers live in ``_features_worker.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from _peer import bench_parser, clean_env, log, peer_python

FEAST_REQUIREMENTS = ["feast==0.67.0", "duckdb", "ibis-framework[duckdb]", "pandas<3"]
SEED = 20261123
WORKER = Path(__file__).resolve().with_name("_features_worker.py")
WORKER_TIMEOUT_S = 1800.0
REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 14
FEATURES, DTYPES = ["f1", "f2", "f3"], ["float", "int", "string"]
TARGETS = {"historical": 5.0, "memory": 2.0, "materialize": 10.0, "online": 1.0, "http_p50_ms": 1.0}


@dataclass(frozen=True)
class Sizes:
    rows: int = 1_000_000
    entities: int = 10_000
    entity_rows: int = 100_000
    days: int = 90
    ttl_days: int = 30
    reads: int = 2_000
    sample_rows: int = 1_000
    sample_entities: int = 200

    @classmethod
    def for_mode(cls, quick: bool) -> Sizes:
        return cls(rows=100_000, entities=1_000, entity_rows=10_000) if quick else cls()


# --------------------------------------------------------------------------- data


def generate(folder: Path, sizes: Sizes, end_ms: int) -> None:
    """Write features.parquet, entities.parquet and meta.json (seeded)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(SEED)
    span_ms = sizes.days * 86_400_000
    times = end_ms - rng.integers(0, span_ms, size=sizes.rows)
    categories = np.array([f"segment-{i:02d}" for i in range(50)])
    features = pa.table(
        {
            "user_id": pa.array(rng.integers(0, sizes.entities, size=sizes.rows)),
            "event_time": pa.array(times * 1000, type=pa.timestamp("us", tz="UTC")),
            "f1": pa.array(rng.normal(size=sizes.rows), mask=rng.random(sizes.rows) < 0.01),
            "f2": pa.array(rng.integers(0, 1_000_000, size=sizes.rows)),
            "f3": pa.array(categories[rng.integers(0, len(categories), size=sizes.rows)]),
        }
    )
    pq.write_table(features, folder / "features.parquet")
    entity_times = end_ms - rng.integers(0, span_ms, size=sizes.entity_rows)
    entities = pa.table(
        {
            "user_id": pa.array(rng.integers(0, int(sizes.entities * 1.01), size=sizes.entity_rows)),
            "event_timestamp": pa.array(entity_times * 1000, type=pa.timestamp("us", tz="UTC")),
            "row_id": pa.array(np.arange(sizes.entity_rows)),
        }
    )
    pq.write_table(entities, folder / "entities.parquet")
    meta = {
        **asdict(sizes),
        "seed": SEED,
        "end_ms": end_ms,
        "features": FEATURES,
        "dtypes": DTYPES,
        "sample_row_ids": sorted(rng.choice(sizes.entity_rows, sizes.sample_rows, replace=False).tolist()),
        "sample_entities": rng.integers(0, int(sizes.entities * 1.01), size=sizes.sample_entities).tolist(),
        "read_entities": rng.integers(0, sizes.entities, size=sizes.reads).tolist(),
    }
    (folder / "meta.json").write_text(json.dumps(meta))


# --------------------------------------------------------------------------- running workers


def run_measured(argv: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Run a worker; its JSON result plus its wall time and its own peak RSS (``os.wait4``)."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, env=env, cwd=cwd)
        timer = threading.Timer(WORKER_TIMEOUT_S, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        lines = [line for line in out.read().splitlines() if line.strip()]
    try:
        result = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        result = None
    if not isinstance(result, dict):
        result = {
            "error": f"worker exited with {proc.returncode} and printed no JSON object",
            "kind": "crash",
        }
    result["process_s"] = wall
    result["peak_rss_bytes"] = usage.ru_maxrss * 1024  # Linux reports KiB
    return result


def sy_env(home: Path, online_uri: str = "") -> dict[str, str]:
    extra = {"SHIPYARD_HOME": str(home), "SHIPYARD_CAPTURE_PACKAGES": "false"}
    if online_uri:
        extra["SHIPYARD_ONLINE_URI"] = online_uri
    return clean_env(extra, "FEAST_")


def worker(python: Path | str, side: str, task: str, data: Path, workdir: Path, *extra: str) -> list[str]:
    argv = [str(python), str(WORKER), "--side", side, "--task", task, "--data", str(data)]
    return [*argv, "--workdir", str(workdir), *extra]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_up() -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((REDIS_HOST, REDIS_PORT)) == 0


@contextmanager
def http_process(argv: list[str], env: dict[str, str], log_path: Path, ready: str) -> Iterator[None]:
    """Run a server process until the block ends; wait until GET ``ready`` answers (any status)."""
    with log_path.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{log_path.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(ready, timeout=1):
                    break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def shipyard_server(home: Path) -> Iterator[str]:
    """``python -m shipyard.server`` on the given home (as tests/contract/server_process.py does)."""
    port = free_port()
    argv = [sys.executable, "-m", "shipyard.server", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--backend-uri", f"sqlite:///{home / 'shipyard.db'}", "--artifacts-uri", str(home / "artifacts")]
    url = f"http://127.0.0.1:{port}"
    with http_process(argv, sy_env(home), home / "server.log", f"{url}/api/v1/health"):
        yield url


@contextmanager
def floor_server(workdir: Path) -> Iterator[str]:
    """A bare Starlette route on uvicorn (``_features_worker.floor_app``): the floor of an HTTP read."""
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "--factory", "_features_worker:floor_app", "--app-dir"]
    argv += [str(WORKER.parent), "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    url = f"http://127.0.0.1:{port}"
    with http_process(argv, clean_env({}, "FEAST_"), workdir / "floor.log", f"{url}/"):
        yield url


def run_shipyard(data: Path, root: Path, wanted: set[str]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    if "historical" in wanted:
        home = root / "sy-historical" / ".shipyard"
        home.parent.mkdir()
        log("historical: shipyard")
        argv = worker(sys.executable, "shipyard", "historical", data, home.parent)
        results["historical"] = run_measured(argv, sy_env(home), home.parent)
    if wanted & {"materialize", "online"}:
        home = root / "sy-online" / ".shipyard"
        home.parent.mkdir()
        log("materialize + online: shipyard (SQLite)")
        argv = worker(sys.executable, "shipyard", "online", data, home.parent)
        results["online"] = online = run_measured(argv, sy_env(home), home.parent)
        if "error" not in online and "online" in wanted:
            results["http"] = run_http(data, home)
        if "online" in wanted:
            results["redis"] = run_redis(data, root)
    return results


def run_http(data: Path, home: Path) -> dict[str, Any]:
    log("online: shipyard over HTTP, taking turns with a bare Starlette route (the floor)")
    try:
        with shipyard_server(home) as url, floor_server(home.parent) as floor_url:
            argv = worker(sys.executable, "shipyard", "http", data, home.parent, "--url", url)
            return run_measured([*argv, "--floor-url", floor_url], sy_env(home), home.parent)
    except RuntimeError as exc:
        return {"error": str(exc)[:2000], "kind": "crash"}


def run_redis(data: Path, root: Path) -> dict[str, Any] | None:
    if not redis_up():
        log(f"online: Redis is not running on {REDIS_HOST}:{REDIS_PORT}; skipping the Redis line")
        return None
    log("materialize + online: shipyard (Redis)")
    home = root / "sy-redis" / ".shipyard"
    home.parent.mkdir()
    prefix = f"bench-{uuid.uuid4().hex[:10]}:"
    url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
    argv = worker(sys.executable, "shipyard", "online", data, home.parent, "--url", url)
    argv += ["--redis-prefix", prefix]
    return run_measured(argv, sy_env(home, f"{url}?prefix={prefix}"), home.parent)


def run_feast(python: Path, data: Path, root: Path, wanted: set[str]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    env = clean_env({"FEAST_USAGE": "False", "FEAST_DISABLE_TELEMETRY": "1"}, "FEAST_")
    if "historical" in wanted:
        for offline in ("duckdb", "file"):
            workdir = root / f"feast-historical-{offline}"
            workdir.mkdir()
            log(f"historical: feast ({offline} offline store)")
            argv = worker(python, "feast", "historical", data, workdir, "--offline", offline)
            results[f"historical_{offline}"] = run_measured(argv, env, workdir)
    if wanted & {"materialize", "online"}:
        workdir = root / "feast-online"
        workdir.mkdir()
        log("materialize + online: feast (DuckDB offline, SQLite online)")
        results["online"] = run_measured(worker(python, "feast", "online", data, workdir), env, workdir)
    return results


# --------------------------------------------------------------------------- report (see _features_report)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    workloads = ["historical", "materialize", "online"]
    parser = bench_parser(__doc__.splitlines()[0] if __doc__ else None, "Feast", workloads)
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--end-ms", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    sizes = Sizes.for_mode(args.quick)
    if args.generate:
        generate(args.generate, sizes, args.end_ms)
        return 0
    from _features_report import report

    wanted = set(args.workload or ["historical", "materialize", "online"])
    feast = None if args.skip_peer else peer_python("feast", FEAST_REQUIREMENTS)
    root = Path(tempfile.mkdtemp(prefix="bench-features-"))
    try:
        data = root / "data"
        data.mkdir()
        end_ms = int(time.time() // 3600 * 3600 * 1000)
        log(
            f"generating {sizes.rows:,} feature rows of {sizes.entities:,} users, "
            f"{sizes.entity_rows:,} entity rows"
        )
        quick = ["--quick"] if args.quick else []
        generator = [sys.executable, str(Path(__file__).resolve()), "--generate", str(data), *quick]
        subprocess.run([*generator, "--end-ms", str(end_ms)], check=True)
        ours = {} if args.skip_shipyard else run_shipyard(data, root, wanted)
        theirs = {} if feast is None else run_feast(feast, data, root, wanted)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    summary = report(sizes, ours, theirs, TARGETS, quiet=args.json)
    summary.update(
        benchmark="features",
        peer="feast==0.67.0",
        quick=args.quick,
        loadavg_at_end=[round(x, 2) for x in os.getloadavg()],
        cpus=os.cpu_count(),
    )
    print(json.dumps(summary, default=str))
    failed = [r for r in (*ours.values(), *theirs.values()) if isinstance(r, dict) and "error" in r]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
