"""Dataset versioning: Shipyard against DVC 3.67 on the same files.

Workloads (the same seeded random bytes on both sides, generated once per run):

1. ``add_folder``  snapshot a folder of 20,000 files of 4 KiB (100 sub-folders of 200):
                   ``dvc add data`` against ``shipyard data add data --name bench``.
2. ``add_file``    snapshot one 1 GiB file: ``dvc add big.bin`` against
                   ``shipyard data add big.bin --name bench-big``.
3. ``status``      a no-change status of that folder right after it was added (the add is
                   untimed): ``dvc status`` against ``shipyard data status bench``, best of 3.

Both sides are timed as whole commands, process start included, since DVC is a CLI (with
their modules compiled to bytecode, as an install leaves them: Shipyard's are compiled
before the run, untimed, in case it is an editable install). Every
side of every workload runs in a fresh temporary directory (for DVC a fresh ``git init`` +
``dvc init`` repository) on its own fresh copy of the data, written, fsynced and read once
just before the timed command, so the page cache is equally warm for both; DVC runs first.

Run ``python benchmarks/datasets.py`` with the project venv; ``--quick`` divides every size
by 10, ``--json`` prints only the JSON summary, ``--skip-peer`` measures Shipyard alone,
``--skip-shipyard`` DVC alone and ``--workload NAME`` (repeatable) runs a subset. DVC is
installed on first use into ``.bench/venvs/dvc``. The exit code is 0 whether or not the
targets are met; it is 1 only when a side failed to run.

When the ``shipyard data`` command group is missing but the SDK has ``sy.datasets.add``,
the Shipyard side falls back to ``datasets.py --worker add PATH NAME``, a process of its own
that calls the SDK (still timed as a whole process).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _peer import bench_parser, clean_env, log, peer_python

DVC_REQUIREMENTS = ["dvc==3.67.1"]
SEED = 20261123
COMMAND_TIMEOUT_S = 900.0
STATUS_REPEAT = 3
MISSING_API_EXIT = 3  # the SDK worker's exit code when Shipyard lacks an API it needs
READ_CHUNK = 8 << 20


@dataclass(frozen=True)
class Sizes:
    files: int = 20_000
    file_bytes: int = 4096
    folders: int = 100
    big_bytes: int = 1 << 30

    @classmethod
    def for_mode(cls, quick: bool) -> Sizes:
        if not quick:
            return cls()
        return cls(files=2000, folders=10, big_bytes=100 << 20)


@dataclass(frozen=True)
class Workload:
    name: str
    target: float
    what: str

    def describe(self, sizes: Sizes) -> str:
        if self.name == "add_file":
            return f"one {sizes.big_bytes / (1 << 20):,.0f} MiB file"
        return f"{sizes.files:,} files of {sizes.file_bytes // 1024} KiB"


WORKLOADS = [
    Workload("add_folder", 5.0, "add"),
    Workload("add_file", 5.0, "add"),
    Workload("status", 20.0, "no-change status, best of 3"),
]


class MissingAPIError(Exception):
    """Shipyard has neither the ``shipyard data`` commands nor the SDK calls this benchmark uses."""


class CommandFailedError(Exception):
    """A timed command exited non-zero or printed something unexpected."""


# --------------------------------------------------------------------------- shared data


def generate(root: Path, sizes: Sizes) -> None:
    """Write ``root/data`` (the folder) and ``root/big.bin`` from one seeded generator."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    blob = rng.bytes(sizes.files * sizes.file_bytes)
    per_folder = max(1, sizes.files // sizes.folders)
    for i in range(sizes.files):
        folder = root / "data" / f"part-{i // per_folder:03d}"
        if i % per_folder == 0:
            folder.mkdir(parents=True, exist_ok=True)
        start = i * sizes.file_bytes
        (folder / f"file-{i:05d}.bin").write_bytes(blob[start : start + sizes.file_bytes])
    chunk = 64 << 20
    with open(root / "big.bin", "wb") as fh:
        for offset in range(0, sizes.big_bytes, chunk):
            fh.write(rng.bytes(min(chunk, sizes.big_bytes - offset)))


def _copy_input(source: Path, workdir: Path, name: str) -> Path:
    """Copy ``source/name`` into ``workdir``, fsync everything, then read it back once."""
    src, dst = source / name, workdir / name
    if src.is_dir():
        shutil.copytree(src, dst)
    else:
        shutil.copyfile(src, dst)
    os.sync()
    paths = [p for p in dst.rglob("*") if p.is_file()] if dst.is_dir() else [dst]
    for path in paths:
        with open(path, "rb", buffering=0) as fh:
            while fh.read(READ_CHUNK):
                pass
    return dst


# --------------------------------------------------------------------------- commands


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run a command to completion and return (wall seconds, the completed process)."""
    start = time.perf_counter()
    proc = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
    )
    return time.perf_counter() - start, proc


def _checked(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    seconds, proc = _run(argv, cwd, env)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        lines = output.strip().splitlines()
        log(f"`{' '.join(argv)}` exited with {proc.returncode}; its output ends with:")
        for line in lines[-15:]:
            log(f"    {line}")
        last = lines[-1].strip() if lines else "no output"
        if proc.returncode == MISSING_API_EXIT:
            raise MissingAPIError(last)
        shown = " ".join([Path(argv[0]).name, *argv[1:]])
        raise CommandFailedError(f"`{shown}` exited with {proc.returncode}: {last}")
    return seconds, output


def _best_status(
    argv: list[str], cwd: Path, env: dict[str, str], check: Callable[[str], None]
) -> dict[str, Any]:
    timings = []
    for _ in range(STATUS_REPEAT):
        seconds, output = _checked(argv, cwd, env)
        check(output)
        timings.append(seconds)
    return {"seconds": min(timings), "first_s": timings[0], "all_s": [round(t, 4) for t in timings]}


class DvcSide:
    name = "dvc"

    def __init__(self, python: Path) -> None:
        self.dvc = str(python.parent / "dvc")
        self.env = _env({"DVC_NO_ANALYTICS": "1", "GIT_TERMINAL_PROMPT": "0"})

    def prepare(self, workdir: Path) -> None:
        """A fresh git + DVC repository, its state kept inside ``workdir``."""
        _checked(["git", "init", "-q"], workdir, self.env)
        _checked([self.dvc, "init", "-q"], workdir, self.env)
        for key, value in (
            ("core.analytics", "false"),
            ("core.check_update", "false"),
            ("core.autostage", "false"),
            ("core.site_cache_dir", str(workdir / ".dvc-site-cache")),
        ):
            _checked([self.dvc, "config", key, value], workdir, self.env)

    def add(self, workdir: Path, target: str, dataset: str) -> dict[str, Any]:
        seconds, _ = _checked([self.dvc, "add", "-q", target], workdir, self.env)
        if not (workdir / f"{target}.dvc").exists():
            raise CommandFailedError(f"dvc add {target} wrote no {target}.dvc")
        return {"seconds": seconds}

    def status(self, workdir: Path, dataset: str) -> dict[str, Any]:
        def check(output: str) -> None:
            if "up to date" not in output:
                raise CommandFailedError(f"dvc status reported changes:\n{output.strip()}")

        return _best_status([self.dvc, "status"], workdir, self.env, check)


class ShipyardSide:
    name = "shipyard"

    def __init__(self, mode: str) -> None:
        self.mode = mode  # "cli" or "sdk"
        bindir = Path(sys.executable).parent
        self.cli = str(bindir / "shipyard")
        self.env: dict[str, str] = {}

    @classmethod
    def detect(cls) -> ShipyardSide:
        """Use the ``shipyard data`` CLI when it exists, else the SDK through a worker process."""
        _compile_shipyard()
        cli = Path(sys.executable).parent / "shipyard"
        if cli.exists():
            proc = subprocess.run([str(cli), "data", "--help"], capture_output=True, text=True, check=False)
            if proc.returncode == 0 and "add" in proc.stdout:
                return cls("cli")
        probe = "import shipyard as sy; sy.datasets.add"
        proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            return cls("sdk")
        reason = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "unknown error"
        raise MissingAPIError(f"neither `shipyard data` nor sy.datasets.add is available ({reason})")

    def prepare(self, workdir: Path) -> None:
        self.env = _env({"SHIPYARD_HOME": str(workdir / ".shipyard"), "SHIPYARD_CAPTURE_PACKAGES": "false"})
        if self.mode == "cli":  # untimed, like `git init` + `dvc init` on the DVC side
            _checked([self.cli, "init"], workdir, self.env)

    def _argv(self, *args: str) -> list[str]:
        if self.mode == "cli":
            return [self.cli, "data", *args]
        return [sys.executable, str(Path(__file__).resolve()), "--worker", *args]

    def add(self, workdir: Path, target: str, dataset: str) -> dict[str, Any]:
        seconds, _ = _checked(self._argv("add", target, "--name", dataset), workdir, self.env)
        return {"seconds": seconds, "via": self.mode}

    def status(self, workdir: Path, dataset: str) -> dict[str, Any]:
        def check(output: str) -> None:
            lowered = output.lower()
            if any(word in lowered for word in ("has changed", "modified:", "added:", "removed:")):
                raise CommandFailedError(f"shipyard data status reported changes:\n{output.strip()}")

        result = _best_status(self._argv("status", dataset), workdir, self.env, check)
        return {**result, "via": self.mode}


def _compile_shipyard() -> None:
    """Compile Shipyard's modules to bytecode, untimed, as ``pip install`` does for DVC's.

    An editable install run with ``PYTHONDONTWRITEBYTECODE=1`` would otherwise compile every
    module it imports on every command, which an installed package never does.
    """
    import compileall

    import shipyard

    compileall.compile_dir(Path(shipyard.__file__).parent, quiet=2)


Side = DvcSide | ShipyardSide


def run_workload(side: Side, workload: str, source: Path, root: Path) -> dict[str, Any]:
    """One workload of one side in a fresh directory under ``root``, removed afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix=f"{side.name}-{workload}-", dir=root))
    try:
        side.prepare(workdir)
        if workload == "add_file":
            _copy_input(source, workdir, "big.bin")
            return side.add(workdir, "big.bin", "bench-big")
        _copy_input(source, workdir, "data")
        if workload == "add_folder":
            return side.add(workdir, "data", "bench")
        setup = side.add(workdir, "data", "bench")
        return {**side.status(workdir, "bench"), "setup_s": setup["seconds"]}
    except MissingAPIError as exc:
        return {"error": str(exc), "kind": "missing_api"}
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "kind": "crash"}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --------------------------------------------------------------------------- SDK worker


def worker_main(args: list[str]) -> int:
    """``--worker add PATH --name NAME`` or ``--worker status NAME`` through the SDK."""
    try:
        import shipyard as sy

        if args[0] == "add":
            version = sy.datasets.add(args[1], args[args.index("--name") + 1])
            print(json.dumps({"version": getattr(version, "version", None)}))
        else:
            status = getattr(sy.datasets, "status", None)
            if status is None:
                print("sy.datasets.status is not available (and there is no `shipyard data status`)")
                return MISSING_API_EXIT
            print(status(args[1]))
    except (ImportError, AttributeError, NotImplementedError) as exc:
        traceback.print_exc()
        print(f"the Shipyard SDK is incomplete: {type(exc).__name__}: {exc}")
        return MISSING_API_EXIT
    except Exception:
        traceback.print_exc()
        return 1
    return 0


# --------------------------------------------------------------------------- driver


def _fmt_s(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f}"
    return f"{seconds:.3f}" if seconds >= 0.01 else f"{seconds:.2g}"


def _side_text(side: str, result: dict[str, Any] | None) -> str:
    if result is None:
        return f"{side} not measured"
    if "error" in result:
        return f"{side} FAILED ({result['error']})"
    return f"{side} {_fmt_s(result['seconds'])} s"


def _report(
    workload: Workload, sizes: Sizes, sy: dict[str, Any] | None, peer: dict[str, Any] | None
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "what": f"{workload.what}, {workload.describe(sizes)}",
        "target": workload.target,
        "shipyard": sy,
        "dvc": peer,
    }
    both = sy is not None and peer is not None and "error" not in sy and "error" not in peer
    texts = (_side_text("shipyard", sy), _side_text("dvc", peer))
    parts = [text for text in texts if not text.endswith("not measured")]
    line = f"datasets.{workload.name}: " + (", ".join(parts) or "not measured")
    if both:
        assert sy is not None and peer is not None
        ratio = peer["seconds"] / max(sy["seconds"], 1e-9)
        entry.update(ratio=round(ratio, 2), ok=ratio >= workload.target)
        verdict = "OK" if ratio >= workload.target else "BELOW TARGET"
        line += f", ratio {ratio:.1f}x (target >= {workload.target:g}x) {verdict}"
    entry["line"] = line + f"  [{entry['what']}]"
    return entry


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench_parser(__doc__.splitlines()[0] if __doc__ else None, "DVC", [w.name for w in WORKLOADS])
    return parser.parse_args(argv)


def _env(extra: dict[str, str]) -> dict[str, str]:
    return clean_env(extra, "DVC_")


def main(argv: list[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else argv
    if raw[:1] == ["--worker"]:
        return worker_main(raw[1:])
    args = _parse_args(raw)
    sizes = Sizes.for_mode(args.quick)
    dvc = None if args.skip_peer else DvcSide(peer_python("dvc", DVC_REQUIREMENTS))
    shipyard: ShipyardSide | None = None
    shipyard_error: dict[str, Any] | None = None
    if not args.skip_shipyard:
        try:
            shipyard = ShipyardSide.detect()
        except MissingAPIError as exc:
            log(f"Shipyard unavailable: {exc}; {'measuring DVC only' if dvc else 'nothing to measure'}")
            shipyard_error = {"error": str(exc), "kind": "missing_api"}
    if not args.json:
        print(
            "datasets: whole commands timed, process start included; each side runs on its own fresh "
            "copy of the same files, fsynced and read once just before timing (warm page cache for both); "
            "DVC first, then Shipyard",
            flush=True,
        )
    workloads = [w for w in WORKLOADS if not args.workload or w.name in args.workload]
    results: dict[str, Any] = {}
    failed = shipyard_error is not None
    root = Path(tempfile.mkdtemp(prefix="bench-datasets-"))
    try:
        start = time.perf_counter()
        log(f"generating {sizes.files:,} x {sizes.file_bytes} B files and a {sizes.big_bytes >> 20} MiB file")
        generate(root / "source", sizes)
        log(f"data ready in {time.perf_counter() - start:.1f} s")
        for workload in workloads:
            theirs = ours = None
            if dvc is not None:
                log(f"{workload.name}: running dvc")
                theirs = run_workload(dvc, workload.name, root / "source", root)
            if shipyard is not None:
                log(f"{workload.name}: running shipyard ({shipyard.mode})")
                ours = run_workload(shipyard, workload.name, root / "source", root)
                if ours.get("kind") == "missing_api":
                    log(f"Shipyard unavailable: {ours['error']}; skipping its remaining workloads")
                    shipyard, shipyard_error = None, ours
            elif shipyard_error is not None:
                ours = shipyard_error
            failed = failed or any(r is not None and "error" in r for r in (ours, theirs))
            entry = _report(workload, sizes, ours, theirs)
            results[workload.name] = entry
            if not args.json:
                print(entry["line"], flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    summary = {
        "benchmark": "datasets",
        "peer": "dvc==3.67",
        "quick": args.quick,
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "timing": "whole commands, process start included; warm page cache for both sides",
        "results": results,
    }
    print(json.dumps(summary))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
