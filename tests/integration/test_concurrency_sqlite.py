"""Four processes logging 10,000 metrics each into one SQLite home at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import shipyard as sy
from shipyard.workspace import set_workspace

WORKER = """
import sys
import shipyard as sy
with sy.start_run(experiment="concurrent", run_name=sys.argv[1]) as run:
    print(run.id, flush=True)
    for step in range(2500):
        run.log_metrics({"a": step * 1.0, "b": step * 2.0}, step=step)
        run.log_metric("c", step * 3.0, step=step)
        run.log_metric("d", step * 4.0, step=step)
"""


def test_four_writers_lose_nothing_and_never_see_locks(home: Path) -> None:
    env = {**os.environ, "SHIPYARD_METRIC_BATCH_SIZE": "500", "SHIPYARD_METRIC_FLUSH_INTERVAL_MS": "5"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, f"w{i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(4)
    ]
    results = [p.communicate(timeout=240) for p in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err.lower()
    set_workspace(None)
    for out, _ in results:
        run_id = out.strip()
        assert sy.get_run(run_id).status is sy.RunStatus.FINISHED
        for key, factor in (("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0)):
            history = sy.get_metric_history(run_id, key)
            assert history["step"].tolist() == list(range(2500))
            assert history["value"].tolist() == [s * factor for s in range(2500)]
    frame = sy.search_runs(experiment="concurrent")
    assert len(frame) == 4 and sorted(frame["run_name"]) == ["w0", "w1", "w2", "w3"]
