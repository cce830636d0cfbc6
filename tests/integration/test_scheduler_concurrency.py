"""Two scheduler processes over one database, on SQLite and on PostgreSQL: every event runs exactly once.

Both processes look at the same state before either claims anything (a barrier between
finding what is due and claiming it), so each event is contended for by both: only the
database's claim (a unique key, inserted in a transaction of its own) keeps it to one run.
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from shipyard.core.config import load_settings
from shipyard.core.ids import new_id
from shipyard.pipelines.scheduler import SchedulerService
from shipyard.pipelines.scheduling import Notice
from shipyard.workspace import Workspace

REF = "tests.unit.pipelines.scheduled"
FIVE_MINUTES = 300_000

pytestmark = pytest.mark.slow


def scheduler_process(home: str, uri: str, now: int, barrier: Any, out: str) -> None:
    """One scheduler pass at ``now``, claiming only once both processes know what is due."""
    workspace = Workspace(load_settings(home=home, uri=uri, capture_packages=False))
    service = SchedulerService(
        workspace.scheduler.store, workspace.pipelines, audit=workspace.audit, clock=lambda: now
    )
    notices: list[Notice] = []
    scheduler = service.scheduler(notify=notices.append)
    find_requests = scheduler._requests_due

    def requests_then_wait() -> Any:  # the last thing a pass finds before it claims
        found = find_requests()
        barrier.wait(120)
        return found

    scheduler._requests_due = requests_then_wait  # type: ignore[method-assign]
    try:
        ran = scheduler.run_once()
    finally:
        workspace.close()
    doc = {
        "ran": [[c.event_key, c.status.value, c.pipeline_run_id] for c in ran],
        "skipped": [n.event for n in notices if n.kind == "skipped"],
    }
    Path(out).write_text(json.dumps(doc))


def two_schedulers_at_once(home: Path, uri: str, tmp_path: Path) -> None:
    workspace = Workspace(load_settings(home=str(home), uri=uri, capture_packages=False))
    start = (workspace.scheduler.clock() // FIVE_MINUTES) * FIVE_MINUTES + 1_000
    now = start + FIVE_MINUTES  # one */5 fire time, one second ago
    try:
        service = SchedulerService(
            workspace.scheduler.store, workspace.pipelines, audit=workspace.audit, clock=lambda: start
        )
        service.add(f"{REF}:busy")
        for n in range(4):
            (tmp_path / "tx.csv").write_text("a\n" + "1\n" * (n + 1))
            workspace.datasets.add(tmp_path / "tx.csv", "tx")
        requests = [service.request(f"{REF}:needs_value", {"value": new_id()}) for _ in range(2)]
    finally:
        workspace.close()

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    outs = [tmp_path / f"scheduler-{i}.json" for i in range(2)]
    procs = [
        context.Process(target=scheduler_process, args=(str(home), uri, now, barrier, str(out)))
        for out in outs
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(300)
        assert proc.exitcode == 0
    results = [json.loads(out.read_text()) for out in outs]

    expected = {f"cron:{now - 1_000}", *(f"request:{r.id}" for r in requests)}
    won = [[key for key, _, _ in r["ran"]] for r in results]
    audit_keys = [k for keys in won for k in keys if k.startswith("audit:")]
    assert len(audit_keys) == 4, "each dataset version is one event"
    assert sorted(k for keys in won for k in keys) == sorted({*expected, *audit_keys}), "each event ran once"
    assert set(won[0]).isdisjoint(won[1])
    assert sorted(results[0]["skipped"]) == sorted(won[1]), "what one ran, the other saw claimed and left"
    assert sorted(results[1]["skipped"]) == sorted(won[0])
    assert all(status == "succeeded" for r in results for _, status, _ in r["ran"])

    check = Workspace(load_settings(home=str(home), uri=uri, capture_packages=False))
    try:
        claims = check.scheduler.claims(limit=100)
        runs = {c.pipeline_run_id for c in claims}
        assert len({(c.schedule_id, c.event_key) for c in claims}) == 7
        assert len(runs) == 7 and None not in runs
        assert len(check.pipelines.list_runs(limit=100)) == 7, "no event started a second run"
    finally:
        check.close()


def test_two_schedulers_on_sqlite_run_each_event_once(home: Path, tmp_path: Path) -> None:
    two_schedulers_at_once(home, f"sqlite:///{home / 'shipyard.db'}", tmp_path)


@pytest.mark.postgres
def test_two_schedulers_on_postgres_run_each_event_once(
    home: Path, postgres_uri: str, tmp_path: Path
) -> None:
    two_schedulers_at_once(home, postgres_uri, tmp_path)
