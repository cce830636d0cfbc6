"""Shared helpers for benchmarks that run a peer (MLflow, DVC, Feast, ...) beside Shipyard.

Each peer lives in a venv of its own under ``.bench/venvs/<name>`` at the repository root
(``.bench/`` is git-ignored), so its dependencies never touch the project venv. The venv is
created on first use and reused afterwards; it is reinstalled only when the marker file that
records its requirement list is missing or lists different requirements.

>>> Path(REPO_ROOT, "benchmarks").is_dir()
True
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["BENCH_DIR", "REPO_ROOT", "log", "peer_python", "run_json", "run_measured"]

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO_ROOT / ".bench"
_MARKER = ".shipyard-bench-requirements.json"


def log(message: str) -> None:
    """Print a progress line to stderr (stdout is kept for results)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _venv_python(venv: Path) -> Path:
    if os.name == "nt":  # pragma: no cover - benchmarks run on POSIX
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def peer_python(name: str, requirements: list[str]) -> Path:
    """Return the python of the venv ``.bench/venvs/<name>``, creating it if needed.

    The venv is (re)built only when its marker file, which holds ``requirements``, is
    missing or differs; a half-built venv from an interrupted install is removed first.
    """
    venv = BENCH_DIR / "venvs" / name
    python = _venv_python(venv)
    marker = venv / _MARKER
    wanted = json.dumps(sorted(requirements))
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    if venv.exists():
        log(f"{name}: requirements changed or install incomplete; rebuilding {venv}")
        shutil.rmtree(venv)
    start = time.perf_counter()
    log(f"{name}: creating venv {venv}")
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    log(f"{name}: pip install {' '.join(requirements)} (this can take a few minutes)")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
        check=True,
        stdout=sys.stderr,
    )
    marker.write_text(wanted)
    log(f"{name}: ready in {time.perf_counter() - start:.0f} s")
    return python


def run_json(
    argv: list[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Run ``argv`` and return the JSON object printed on the last line of its stdout.

    A worker reports its own failures as a JSON object (for example ``{"error": "..."}``),
    so the object is returned whatever the exit code; stderr passes through so progress
    shows. ``RuntimeError`` is raised only when there is no JSON object to read.
    """
    proc = subprocess.run(
        argv, stdout=subprocess.PIPE, text=True, env=env, cwd=cwd, timeout=timeout, check=False
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    try:
        result = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        result = None
    if not isinstance(result, dict):
        tail = "\n".join(lines[-20:])
        raise RuntimeError(f"{argv[0]} exited with {proc.returncode} and printed no JSON object:\n{tail}")
    return result


def clean_env(extra: dict[str, str], peer_prefix: str) -> dict[str, str]:
    """This process's environment without Shipyard's or the peer's settings, plus ``extra``."""
    drop = ("SHIPYARD_", peer_prefix)
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(extra)
    return env


def bench_parser(description: str | None, peer: str, workloads: list[str]) -> argparse.ArgumentParser:
    """The flags every benchmark shares: --quick, --json, --skip-peer, --skip-shipyard, --workload."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="sizes divided by 10, for a smoke test")
    parser.add_argument("--json", action="store_true", help="print only the JSON summary")
    parser.add_argument("--skip-peer", action="store_true", help="measure Shipyard only")
    parser.add_argument("--skip-shipyard", action="store_true", help=f"measure {peer} only")
    parser.add_argument(
        "--workload", choices=workloads, action="append", help="run only this workload (repeatable)"
    )
    return parser


def run_measured(argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 3600.0) -> dict[str, Any]:
    """Run a worker; its JSON result (last stdout line) plus its wall time and its own peak RSS.

    The peak is the child's ``ru_maxrss`` from ``os.wait4`` (per process, not the driver's);
    the worker is killed after ``timeout`` seconds. A worker that prints no JSON object
    gives ``{"error": ..., "kind": "crash"}``.
    """
    import tempfile
    import threading

    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, env=env, cwd=cwd)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        out.seek(0)
        lines = [line for line in out.read().splitlines() if line.strip()]
    try:
        result = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        result = None
    if not isinstance(result, dict):
        code = os.waitstatus_to_exitcode(status)
        result = {"error": f"worker exited with {code} and printed no JSON object", "kind": "crash"}
    result["process_s"] = wall
    result["peak_rss_bytes"] = usage.ru_maxrss * 1024  # Linux reports KiB
    return result
