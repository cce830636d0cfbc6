"""Four SDK processes logging 10,000 metrics each through one server (SQLite backend) at once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.tracking.service import TrackingService
from shipyard.tracking.store.rest import RestTrackingStore
from tests.contract.server_process import running_server

WORKER = """
import sys
import shipyard as sy
with sy.start_run(experiment="through-server", run_name=sys.argv[1]) as run:
    print(run.id, flush=True)
    for step in range(2500):
        run.log_metrics({"a": step * 1.0, "b": step * 2.0}, step=step)
        run.log_metric("c", step * 3.0, step=step)
        run.log_metric("d", step * 4.0, step=step)
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with running_server(
        f"sqlite:///{tmp_path / 'meta.db'}", tmp_path / "artifacts", tmp_path / "home"
    ) as url:
        yield url


@pytest.mark.slow
def test_four_sdk_processes_through_one_server_lose_nothing(server: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update(
        SHIPYARD_URI=server,
        SHIPYARD_HOME=str(tmp_path / "client-home"),
        SHIPYARD_METRIC_BATCH_SIZE="500",
        SHIPYARD_METRIC_FLUSH_INTERVAL_MS="5",
        SHIPYARD_CAPTURE_PACKAGES="false",
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, f"w{i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for i in range(4)
    ]
    results = [p.communicate(timeout=240) for p in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    store = RestTrackingStore(server)
    tracking = TrackingService(store)
    total = 0
    for out, _ in results:
        run = tracking.get_run(out.strip())
        assert run.status.value == "finished"
        for key, factor in (("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0)):
            history = tracking.get_metric_history(run.id, key)
            assert history.steps == list(range(2500))
            assert history.values == [s * factor for s in range(2500)]
            total += len(history)
    assert total == 40_000
    runs = tracking.search_runs("through-server")
    assert sorted(r.name for r in runs) == ["w0", "w1", "w2", "w3"]
    store.close()
