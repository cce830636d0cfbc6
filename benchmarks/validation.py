"""Data validation: Shipyard against Great Expectations 1.24 (pandas) on the same ten checks.

One workload, ``suite``: 10,000,000 rows x 10 columns (seeded; ids, timestamps, amounts,
a categorical, e-mail-like strings, ...) written once to Parquet, then validated by the same
ten checks on both sides, each side in a fresh process and a fresh temporary directory:

- Great Expectations: an ephemeral context, a pandas datasource whose DataFrame is read from
  the Parquet file (the read is included in the time and in the memory), a suite of ten
  expectations and one validation run.
- Shipyard: the YAML suite ``SUITE_YAML`` run by ``sy.validate(suite, parquet_path)`` (or, when
  the SDK lacks it, by ``shipyard validate SUITE PATH --json`` from inside the worker).

For each side the driver records the time the worker spends loading and validating (imports
excluded), the wall time of the whole worker process, and the worker's peak RSS (from
``os.wait4``, so per process). Targets: Shipyard >= 10x faster and <= 1/3 of the peak memory
of Great Expectations. One check (``score`` not null, ``mostly: 1.0``) fails on purpose; a
WARNING is printed if the two sides disagree on which checks pass.

Run ``python benchmarks/validation.py`` with the project venv; ``--quick`` divides the row
count by 10, ``--json`` prints only the JSON summary, ``--skip-peer`` measures Shipyard alone
and ``--skip-shipyard`` Great Expectations alone. It is installed on first use into
``.bench/venvs/gx``. The exit code is 0 whether or not the targets are met; it is 1 only
when a side failed to run. The same file is the worker: ``validation.py --worker
{shipyard,gx} --data PATH --suite PATH`` prints one JSON line.
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
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _peer import bench_parser, clean_env, log, peer_python

GX_REQUIREMENTS = ["great-expectations==1.24.1", "pandas<3", "pyarrow"]
SEED = 20261123
WORKER_TIMEOUT_S = 1800.0
TIME_TARGET = 10.0  # Shipyard at least this many times faster
MEMORY_TARGET = 3.0  # Shipyard peak RSS at most 1/this of the peer's
MISSING_API_EXIT = 3

MERCHANTS = ["grocery", "travel", "online"]
COUNTRIES = ["US", "DE", "FR", "GB", "JP", "BR", "IN"]
DOMAINS = ["example.com", "mail.test", "corp.example", "shop.test"]
EMAIL_REGEX = "^[^@]+@[^@]+$"
FRESHNESS_DAYS = 3650

SUITE_YAML = f"""\
name: bench
checks:
  - {{column: amount, dtype: float}}
  - {{column: amount, not_null: {{mostly: 0.99}}}}
  - {{column: amount, between: {{min: 0, max: 10000}}}}
  - {{column: merchant, in_set: [{", ".join(MERCHANTS)}]}}
  - {{column: email, regex: '{EMAIL_REGEX}'}}
  - {{column: id, unique: true}}
  - {{row_count: {{min: 1000, max: 100000000}}}}
  - {{expression: "refund_amount <= amount"}}
  - {{column: event_time, freshness: {{max_age: {FRESHNESS_DAYS}d}}}}
  - {{column: score, not_null: {{mostly: 1.0}}}}
"""
CHECK_NAMES = [
    "amount dtype float",
    "amount not null (mostly 0.99)",
    "amount between 0 and 10000",
    "merchant in set",
    "email regex",
    "id unique",
    "row count between",
    "refund_amount <= amount",
    f"event_time freshness ({FRESHNESS_DAYS} d)",
    "score not null (mostly 1.0)",
]
EXPECTED = [True] * 9 + [False]  # the score column has a few NULLs on purpose


@dataclass(frozen=True)
class Sizes:
    rows: int = 10_000_000
    amount_null_fraction: float = 0.005  # under the 1% that ``mostly: 0.99`` allows
    score_nulls: int = 1000  # any NULL fails ``mostly: 1.0``

    @classmethod
    def for_mode(cls, quick: bool) -> Sizes:
        return cls(rows=1_000_000, score_nulls=100) if quick else cls()


class MissingAPIError(Exception):
    """The Shipyard SDK is not importable or lacks part of the API this benchmark uses."""


# --------------------------------------------------------------------------- shared data


def generate(path: Path, sizes: Sizes) -> None:
    """Write the seeded 10-column table to ``path`` (Parquet, row groups of 1M rows)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(SEED)
    n = sizes.rows
    ids = rng.permutation(n).astype(np.int64) + 1_000_000
    now_us = int(datetime.now(UTC).timestamp() * 1_000_000)
    event_us = now_us - rng.integers(0, 365 * 86_400 * 1_000_000, size=n)
    amount = np.round(np.minimum(rng.gamma(2.0, 50.0, size=n), 9999.99), 2)
    refund = np.round(amount * rng.random(n) * (rng.random(n) < 0.1), 2)
    amount_null = rng.random(n) < sizes.amount_null_fraction
    score = rng.random(n)
    score_null = np.zeros(n, dtype=bool)
    score_null[rng.choice(n, size=sizes.score_nulls, replace=False)] = True
    merchant = pa.DictionaryArray.from_arrays(
        pa.array(rng.integers(0, len(MERCHANTS), size=n, dtype=np.int8)), pa.array(MERCHANTS)
    )
    domain = pc.take(pa.array(DOMAINS), pa.array(rng.integers(0, len(DOMAINS), size=n)))
    email = pc.binary_join_element_wise("user", pc.cast(pa.array(ids), pa.string()), "@", domain, "")
    country = pc.take(pa.array(COUNTRIES), pa.array(rng.integers(0, len(COUNTRIES), size=n)))
    table = pa.table(
        {
            "id": pa.array(ids),
            "event_time": pa.array(event_us, type=pa.timestamp("us", tz="UTC")),
            "amount": pa.array(amount, mask=amount_null),
            "refund_amount": pa.array(refund, mask=amount_null),
            "merchant": merchant,
            "email": email,
            "country": country,
            "quantity": pa.array(rng.integers(1, 20, size=n, dtype=np.int32)),
            "score": pa.array(score, mask=score_null),
            "is_return": pa.array(refund > 0),
        }
    )
    pq.write_table(table, path, row_group_size=1_000_000)


# --------------------------------------------------------------------------- Great Expectations side


def _gx_expectations() -> list[Any]:
    """The ten checks of ``SUITE_YAML`` as Great Expectations 1.x expectations, in order."""
    import great_expectations.expectations as gxe

    oldest = datetime.now(UTC) - timedelta(days=FRESHNESS_DAYS)
    return [
        gxe.ExpectColumnValuesToBeOfType(column="amount", type_="float64"),
        gxe.ExpectColumnValuesToNotBeNull(column="amount", mostly=0.99),
        gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=0, max_value=10000),
        gxe.ExpectColumnValuesToBeInSet(column="merchant", value_set=MERCHANTS),
        gxe.ExpectColumnValuesToMatchRegex(column="email", regex=EMAIL_REGEX),
        gxe.ExpectColumnValuesToBeUnique(column="id"),
        gxe.ExpectTableRowCountToBeBetween(min_value=1000, max_value=100_000_000),
        # refund_amount <= amount; rows where both are missing are ignored (GE's default)
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="amount", column_B="refund_amount", or_equal=True
        ),
        # freshness, approximated as "the newest event_time is at most FRESHNESS_DAYS old"
        gxe.ExpectColumnMaxToBeBetween(column="event_time", min_value=oldest),
        gxe.ExpectColumnValuesToNotBeNull(column="score", mostly=1.0),
    ]


def gx_worker(data: Path) -> dict[str, Any]:
    start = time.perf_counter()
    import great_expectations as gx
    import pandas as pd
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    setup = time.perf_counter() - start

    start = time.perf_counter()
    frame = pd.read_parquet(data)
    load = time.perf_counter() - start
    source = context.data_sources.add_pandas("bench")
    batch_definition = source.add_dataframe_asset("transactions").add_batch_definition_whole_dataframe("all")
    suite = context.suites.add(gx.ExpectationSuite(name="bench"))
    for index, expectation in enumerate(_gx_expectations()):
        expectation.meta = {"check": index}
        suite.add_expectation(expectation)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name="bench", data=batch_definition, suite=suite)
    )
    result = definition.run(batch_parameters={"dataframe": frame}, result_format="BASIC")
    seconds = time.perf_counter() - start

    outcomes: list[bool | None] = [None] * len(CHECK_NAMES)
    for item in result.results:
        position = (item.expectation_config.meta or {}).get("check")
        if position is not None:
            outcomes[int(position)] = bool(item.success)
    return {"seconds": seconds, "load_s": load, "setup_s": setup, "rows": len(frame), "checks": outcomes}


# --------------------------------------------------------------------------- Shipyard side


def _outcome(check: Any) -> bool | None:
    for key in ("success", "passed", "ok"):
        value = check.get(key) if isinstance(check, dict) else getattr(check, key, None)
        if value is not None:
            return bool(value)
    return None


def _shipyard_outcomes(result: Any) -> list[bool | None]:
    """Per-check pass/fail from a ``ValidationResult`` (or its JSON form), in suite order."""
    checks = None
    for key in ("checks", "results"):
        checks = result.get(key) if isinstance(result, dict) else getattr(result, key, None)
        if checks is not None:
            break
    if checks is None and hasattr(result, "to_dict"):
        checks = result.to_dict().get("checks")
    if checks is None:
        raise MissingAPIError(f"cannot read per-check results from {type(result).__name__}")
    return [_outcome(check) for check in checks]


def _shipyard_cli(suite: Path, data: Path) -> tuple[float, Any]:
    cli = Path(sys.executable).parent / "shipyard"
    start = time.perf_counter()
    proc = subprocess.run(
        [str(cli), "validate", str(suite), str(data), "--json"], capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        output = (proc.stdout + proc.stderr).strip()
        print(output, file=sys.stderr)
        first = output.splitlines()[0][:300] if output else "no output"
        if "No such command" in output or "No such option" in output:
            raise MissingAPIError(f"`shipyard validate ... --json` is not available: {first}")
        raise RuntimeError(f"`shipyard validate` exited with {proc.returncode}: {first}")
    return seconds, json.loads(proc.stdout)


def shipyard_worker(suite: Path, data: Path) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        import shipyard as sy
    except ImportError as exc:
        raise MissingAPIError(f"cannot import shipyard ({exc}); run with the project venv") from exc
    try:
        validate = sy.validate
    except AttributeError:
        validate = None
    setup = time.perf_counter() - start
    if validate is None:
        seconds, result = _shipyard_cli(suite, data)
        via = "cli (whole process)"
    else:
        start = time.perf_counter()
        result = validate(str(suite), str(data))
        seconds = time.perf_counter() - start
        via = "sdk"
    return {"seconds": seconds, "setup_s": setup, "via": via, "checks": _shipyard_outcomes(result)}


def worker_main(side: str, suite: Path, data: Path) -> int:
    """Run one side in this process and print its result (or its failure) as one JSON line."""
    try:
        result = shipyard_worker(suite, data) if side == "shipyard" else gx_worker(data)
    except Exception as exc:
        traceback.print_exc()
        incomplete = (MissingAPIError, ImportError, AttributeError, NotImplementedError)
        missing = side == "shipyard" and isinstance(exc, incomplete)
        print(
            json.dumps(
                {"error": f"{type(exc).__name__}: {exc}", "kind": "missing_api" if missing else "crash"}
            )
        )
        return MISSING_API_EXIT if missing else 1
    print(json.dumps(result))
    return 0


# --------------------------------------------------------------------------- driver


def run_measured(argv: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Run a worker; return its JSON result plus its wall time and its own peak RSS (``os.wait4``)."""
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


def run_side(side: str, python: Path | str, suite: Path, data: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-validation-{side}-") as tmp:
        workdir = Path(tmp)
        if side == "shipyard":
            env = _env({"SHIPYARD_HOME": str(workdir / ".shipyard"), "SHIPYARD_CAPTURE_PACKAGES": "false"})
        else:
            env = _env({"GX_ANALYTICS_ENABLED": "false"})
        argv = [str(python), str(Path(__file__).resolve()), "--worker", side]
        argv += ["--suite", str(suite), "--data", str(data)]
        log(f"suite: running {side}")
        return run_measured(argv, env, workdir)


def _fmt_s(seconds: float) -> str:
    return f"{seconds:.2f}" if seconds >= 1 else f"{seconds:.3f}"


def _fmt_mb(size: float) -> str:
    return f"{size / 1e6:,.0f} MB"


def _side_text(side: str, result: dict[str, Any] | None) -> str:
    if result is None:
        return f"{side} not measured"
    if "error" in result:
        return f"{side} FAILED ({result['error']})"
    return (
        f"{side} {_fmt_s(result['seconds'])} s (process {_fmt_s(result['process_s'])} s), "
        f"peak {_fmt_mb(result['peak_rss_bytes'])}"
    )


def _warnings(sy: dict[str, Any] | None, peer: dict[str, Any] | None) -> list[str]:
    warnings = []
    measured = {name: r for name, r in (("shipyard", sy), ("gx", peer)) if r and "checks" in r}
    for name, result in measured.items():
        if result["checks"] != EXPECTED:
            wrong = [
                CHECK_NAMES[i]
                for i, (got, want) in enumerate(zip(result["checks"], EXPECTED, strict=False))
                if got != want
            ]
            if len(result["checks"]) != len(EXPECTED):
                wrong.append(f"{len(result['checks'])} results for {len(EXPECTED)} checks")
            warnings.append(f"validation.suite: WARNING {name} got unexpected outcomes: {'; '.join(wrong)}")
    if len(measured) == 2 and measured["shipyard"]["checks"] != measured["gx"]["checks"]:
        ours, theirs = measured["shipyard"]["checks"], measured["gx"]["checks"]
        diff = [
            f"{CHECK_NAMES[i]} (shipyard {'pass' if a else 'fail'}, gx {'pass' if b else 'fail'})"
            for i, (a, b) in enumerate(zip(ours, theirs, strict=False))
            if a != b
        ]
        warnings.append(
            f"validation.suite: WARNING the sides disagree on: {'; '.join(diff) or 'check count'}"
        )
    return warnings


def _report(sizes: Sizes, sy: dict[str, Any] | None, peer: dict[str, Any] | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "rows": sizes.rows,
        "columns": 10,
        "checks": CHECK_NAMES,
        "expected": EXPECTED,
        "time_target": TIME_TARGET,
        "memory_target": MEMORY_TARGET,
        "shipyard": sy,
        "gx": peer,
    }
    parts = [_side_text("shipyard", sy), _side_text("gx", peer)]
    line = "validation.suite: " + ", ".join(p for p in parts if not p.endswith("not measured"))
    if sy is not None and peer is not None and "error" not in sy and "error" not in peer:
        ratio = peer["seconds"] / max(sy["seconds"], 1e-9)
        memory = peer["peak_rss_bytes"] / max(sy["peak_rss_bytes"], 1)
        process_ratio = peer["process_s"] / max(sy["process_s"], 1e-9)
        entry.update(
            ratio=round(ratio, 2),
            process_ratio=round(process_ratio, 2),
            memory_ratio=round(memory, 2),
            ok=ratio >= TIME_TARGET and memory >= MEMORY_TARGET,
        )
        time_verdict = "OK" if ratio >= TIME_TARGET else "BELOW TARGET"
        memory_verdict = "OK" if memory >= MEMORY_TARGET else "BELOW TARGET"
        line += (
            f", ratio {ratio:.1f}x (target >= {TIME_TARGET:g}x) {time_verdict}"
            f"; memory ratio {memory:.1f}x (target >= {MEMORY_TARGET:g}x)"
            f" {memory_verdict}; whole-process ratio {process_ratio:.1f}x"
        )
    entry["line"] = line
    entry["warnings"] = _warnings(sy, peer)
    return entry


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench_parser(__doc__.splitlines()[0] if __doc__ else None, "Great Expectations", ["suite"])
    parser.add_argument("--worker", choices=["shipyard", "gx"], help=argparse.SUPPRESS)
    parser.add_argument("--suite", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _env(extra: dict[str, str]) -> dict[str, str]:
    return clean_env(extra, "GX_")


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.suite, args.data)
    sizes = Sizes.for_mode(args.quick)
    if args.generate:
        generate(args.generate, sizes)
        return 0
    peer = None if args.skip_peer else peer_python("gx", GX_REQUIREMENTS)
    if not args.json:
        print(
            "validation: time = load + validate inside the worker (imports excluded); process = whole worker "
            "process; peak = the worker's max RSS (os.wait4); the Parquet file is written once just before "
            "and is in the page cache for both; Shipyard runs first",
            flush=True,
        )
    root = Path(tempfile.mkdtemp(prefix="bench-validation-"))
    try:
        data, suite = root / "transactions.parquet", root / "suite.yaml"
        start = time.perf_counter()
        log(f"generating {sizes.rows:,} rows x 10 columns")
        # In a child process: a worker's peak RSS (os.wait4) starts from the driver's size at fork.
        quick = ["--quick"] if args.quick else []
        generator = [sys.executable, str(Path(__file__).resolve()), "--generate", str(data), *quick]
        subprocess.run(generator, check=True)
        suite.write_text(SUITE_YAML)
        log(
            f"data ready in {time.perf_counter() - start:.1f} s ({data.stat().st_size / 1e6:,.0f} MB Parquet)"
        )
        sy = None if args.skip_shipyard else run_side("shipyard", sys.executable, suite, data)
        if sy is not None and sy.get("kind") == "missing_api":
            log(f"Shipyard unavailable: {sy['error']}")
        theirs = run_side("gx", peer, suite, data) if peer is not None else None
    finally:
        shutil.rmtree(root, ignore_errors=True)
    entry = _report(sizes, sy, theirs)
    if not args.json:
        print(entry["line"], flush=True)
        for warning in entry["warnings"]:
            print(warning, flush=True)
    summary = {
        "benchmark": "validation",
        "peer": "great-expectations==1.24.1",
        "quick": args.quick,
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "results": {"suite": entry},
    }
    print(json.dumps(summary))
    return 1 if any(r is not None and "error" in r for r in (sy, theirs)) else 0


if __name__ == "__main__":
    sys.exit(main())
