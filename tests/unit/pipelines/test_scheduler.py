"""The scheduler: cron on a fake clock, missed times and catch-up, each trigger kind, run requests,
state that survives a restart, and what is refused when a schedule is added."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import shipyard as sy
from shipyard.core.config import load_settings
from shipyard.core.errors import InvalidInputError, NotFoundError
from shipyard.pipelines.models import ClaimStatus
from shipyard.pipelines.scheduler import SchedulerService
from shipyard.pipelines.scheduling import Notice, Scheduler
from shipyard.workspace import Workspace

from .scheduled import REF

DAY = 86_400_000
HOUR = 3_600_000
T0 = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)  # midnight UTC


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


def scheduler_of(ws: Workspace, clock: Clock, notices: list[Notice] | None = None) -> Scheduler:
    service = SchedulerService(ws.scheduler.store, ws.pipelines, audit=ws.audit, clock=clock)
    return service.scheduler(notify=None if notices is None else notices.append)


@pytest.fixture
def service(workspace: Workspace, clock: Clock) -> SchedulerService:
    return SchedulerService(
        workspace.scheduler.store, workspace.pipelines, audit=workspace.audit, clock=clock
    )


def outputs(ws: Workspace, claims: list) -> list[str]:
    return [ws.pipelines.output(c.pipeline_run_id) for c in claims]


# -- cron ---------------------------------------------------------------------------------
def test_cron_runs_at_each_fire_time_once(
    workspace: Workspace, service: SchedulerService, clock: Clock
) -> None:
    service.add(f"{REF}:nightly")
    scheduler = service.scheduler()
    clock.now = T0 + 2 * HOUR
    assert scheduler.run_once() == [], "nothing is due before 03:00"
    clock.now = T0 + 3 * HOUR + 5_000
    [claim] = scheduler.run_once()
    assert claim.status is ClaimStatus.SUCCEEDED and claim.event_key == f"cron:{T0 + 3 * HOUR}"
    assert outputs(workspace, [claim]) == ["nightly"]
    clock.now += 30_000
    assert scheduler.run_once() == [], "the same fire time runs once"
    clock.now = T0 + DAY + 3 * HOUR + 1_000
    [second] = scheduler.run_once()
    assert second.event_key == f"cron:{T0 + DAY + 3 * HOUR}"
    run = workspace.pipelines.get_run(second.pipeline_run_id or "")
    tags = workspace.tracking.get_run(run.tracking_run_id or "").tags
    assert tags["shipyard.trigger"] == "cron" and tags["shipyard.event"] == second.event_key
    assert [c.event_key for c in service.claims()] == [second.event_key, claim.event_key]


def test_missed_cron_times_are_skipped_without_catchup(
    workspace: Workspace, service: SchedulerService, clock: Clock
) -> None:
    service.add(f"{REF}:nightly")
    notices: list[Notice] = []
    scheduler = service.scheduler(notify=notices.append)
    clock.now = T0 + 2 * DAY + 12 * HOUR  # 03:00 of three days went by with no scheduler
    assert scheduler.run_once() == []
    assert [(n.kind, n.event) for n in notices] == [("missed", f"cron:{T0 + 2 * DAY + 3 * HOUR}")]
    assert "3 run(s) missed" in notices[0].reason
    clock.now = T0 + 3 * DAY + 3 * HOUR + 2_000
    assert len(scheduler.run_once()) == 1, "the next fire time on time runs"


def test_catchup_runs_missed_times_once(
    workspace: Workspace, service: SchedulerService, clock: Clock
) -> None:
    service.add(f"{REF}:nightly", catchup=True, params={"label": "caught up"})
    scheduler = service.scheduler()
    clock.now = T0 + 2 * DAY + 12 * HOUR
    [claim] = scheduler.run_once()
    assert claim.event_key == f"cron:{T0 + 2 * DAY + 3 * HOUR}"
    assert "catch-up of 3 missed run(s)" in claim.reason
    assert outputs(workspace, [claim]) == ["caught up"]
    clock.now += HOUR
    assert scheduler.run_once() == []


def test_state_survives_a_restart(home: Path, clock: Clock) -> None:
    first = Workspace(load_settings())
    try:
        service = SchedulerService(first.scheduler.store, first.pipelines, audit=first.audit, clock=clock)
        service.add(f"{REF}:busy")
        clock.now = T0 + 5 * 60_000 + 1_000
        (home.parent / "tx.csv").write_text("a\n1\n")
        first.datasets.add(home.parent / "tx.csv", "tx")
        ran = scheduler_of(first, clock).run_once()
        assert sorted(c.event_key.partition(":")[0] for c in ran) == ["audit", "cron"]
        stored = first.scheduler.get(f"{REF}:busy")
    finally:
        first.close()
    assert stored.cron_at == clock.now and stored.audit_seq > 0
    second = Workspace(load_settings())  # a new process, as far as the scheduler can tell
    try:
        notices: list[Notice] = []
        clock.now += 60_000
        assert scheduler_of(second, clock, notices).run_once() == []
        assert notices == [], "nothing was even due: the state, not only the claims, was kept"
        clock.now = T0 + 10 * 60_000 + 500
        [next_cron] = scheduler_of(second, clock).run_once()
        assert next_cron.event_key == f"cron:{T0 + 10 * 60_000}"
    finally:
        second.close()


# -- triggers -----------------------------------------------------------------------------
def test_a_new_dataset_version_starts_the_pipeline(
    workspace: Workspace, service: SchedulerService, tmp_path: Path
) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a\n1\n")
    workspace.datasets.add(path, "transactions")  # before the schedule: not an event for it
    service.add(f"{REF}:on_data")
    scheduler = service.scheduler()
    assert scheduler.run_once() == []
    path.write_text("a\n1\n2\n")
    workspace.datasets.add(path, "transactions")
    (tmp_path / "o.csv").write_text("b\n1\n")
    workspace.datasets.add(tmp_path / "o.csv", "other")
    [claim] = scheduler.run_once()
    assert outputs(workspace, [claim]) == ["transactions@2"]
    assert claim.reason.startswith("dataset transactions@2")
    assert scheduler.run_once() == []


def test_a_registered_model_version_starts_the_pipeline(
    workspace: Workspace, service: SchedulerService
) -> None:
    service.add(f"{REF}:on_model")
    rng = np.random.default_rng(0)
    features, labels = rng.normal(size=(40, 2)), np.arange(40) % 2
    run = workspace.tracking.create_run("models")
    uri = workspace.models.log_model(run.id, LogisticRegression().fit(features, labels))
    workspace.registry.register("fraud", uri)
    workspace.registry.register("other", uri)
    [claim] = service.scheduler().run_once()
    assert outputs(workspace, [claim]) == ["fraud:1"]


def test_an_alert_event_starts_the_pipeline(workspace: Workspace, service: SchedulerService) -> None:
    service.add(f"{REF}:on_alert")
    workspace.audit.record("monitoring", "alert.fired", "monitor:fraud-drift", {"drift": 0.4})
    workspace.audit.record("monitoring", "alert.fired", "monitor:latency", {})
    workspace.audit.record("monitoring", "alert.resolved", "monitor:fraud-drift", {})
    [claim] = service.scheduler().run_once()
    assert outputs(workspace, [claim]) == ["fraud-drift"]


def test_several_matching_events_run_once_each(
    workspace: Workspace, service: SchedulerService, tmp_path: Path
) -> None:
    service.add(f"{REF}:on_data")
    for rows in range(3):
        (tmp_path / "t.csv").write_text("a\n" + "1\n" * (rows + 1))
        workspace.datasets.add(tmp_path / "t.csv", "transactions")
    ran = service.scheduler().run_once()
    assert outputs(workspace, ran) == ["transactions@1", "transactions@2", "transactions@3"]


def test_a_failing_run_is_recorded_and_the_scheduler_goes_on(
    workspace: Workspace, service: SchedulerService, tmp_path: Path
) -> None:
    service.add(f"{REF}:failing")
    service.add(f"{REF}:on_data")
    (tmp_path / "t.csv").write_text("a\n1\n")
    workspace.datasets.add(tmp_path / "t.csv", "transactions")
    ran = {c.ref.rpartition(":")[2]: c for c in service.scheduler().run_once()}
    assert ran["failing"].status is ClaimStatus.FAILED and "boom x" in (ran["failing"].error or "")
    assert ran["on_data"].status is ClaimStatus.SUCCEEDED
    history = {c.ref.rpartition(":")[2]: c for c in service.claims()}
    assert history["failing"].status is ClaimStatus.FAILED and history["failing"].pipeline_run_id


# -- requests ------------------------------------------------------------------------------
def test_a_requested_run_is_claimed_and_run_by_the_next_pass(
    workspace: Workspace, service: SchedulerService
) -> None:
    request = service.request(f"{REF}:needs_value", {"value": "retrain"}, reason="drift on fraud")
    assert [r.id for r in service.requests()] == [request.id]
    [claim] = service.scheduler().run_once()
    assert claim.event_key == f"request:{request.id}" and "drift on fraud" in claim.reason
    assert outputs(workspace, [claim]) == ["retrain"]
    assert service.requests() == [] and service.requests(None)[0].status == "claimed"
    assert service.scheduler().run_once() == []


def test_start_pipeline_from_the_sdk_checks_parameters_now(workspace: Workspace) -> None:
    with pytest.raises(InvalidInputError, match="value"):
        sy.pipelines.start_pipeline(f"{REF}:needs_value")
    request = sy.pipelines.start_pipeline(f"{REF}:needs_value", {"value": "v"})
    assert request.status == "pending" and request.ref == f"{REF}:needs_value"


def test_a_request_that_cannot_start_is_an_error_in_the_history(
    workspace: Workspace, service: SchedulerService, clock: Clock
) -> None:
    service.add(f"{REF}:nightly", params={"label": "x"})
    service.request(f"{REF}:nightly", {"label": "y"})
    scheduler = service.scheduler()
    bad = dataclasses.replace(service.get(f"{REF}:nightly"), params={"nope": 1})
    workspace.scheduler.store.save_schedule(bad)  # the stored params went bad after they were checked
    [claim] = scheduler.run_once()
    assert claim.status is ClaimStatus.ERROR and "nope" in (claim.error or "")


# -- adding ------------------------------------------------------------------------------
def test_add_uses_the_pipelines_own_schedule_and_triggers(service: SchedulerService) -> None:
    from tests.unit.pipelines import scheduled

    added = service.add(scheduled.busy)
    assert added.ref == f"{REF}:busy" and added.cron == "*/5 * * * *"
    assert [t.describe() for t in added.triggers] == ["dataset tx -> data"]
    replaced = service.add(f"{REF}:busy", schedule="@hourly", triggers=[], catchup=True)
    assert (replaced.id, replaced.cron, replaced.triggers, replaced.catchup) == (
        added.id,
        "@hourly",
        (),
        True,
    )
    assert [s.ref for s in sy.pipelines.schedules()] == [f"{REF}:busy"]
    assert service.remove(f"{REF}:busy").id == added.id
    with pytest.raises(NotFoundError):
        service.get(f"{REF}:busy")


def test_add_refuses_what_could_never_run(service: SchedulerService) -> None:
    with pytest.raises(InvalidInputError, match="nothing would start"):
        service.add(f"{REF}:needs_value")
    with pytest.raises(InvalidInputError, match="value"):
        service.add(f"{REF}:needs_value", schedule="0 * * * *")  # a cron run has no value for it
    with pytest.raises(InvalidInputError, match="no parameter 'nope'"):
        service.add(f"{REF}:nightly", triggers=[sy.on_dataset("d", param="nope")])
    with pytest.raises(InvalidInputError, match="cron expression"):
        service.add(f"{REF}:nightly", schedule="every day")
    with pytest.raises(NotFoundError):
        service.add(f"{REF}:missing")
    assert service.add(f"{REF}:needs_value", triggers=[sy.on_alert("a", param="value")]).triggers


def test_definitions_check_schedules_and_triggers(service: SchedulerService) -> None:
    def fn() -> None:
        return None

    with pytest.raises(InvalidInputError, match="cron expression"):
        sy.pipeline(schedule="61 * * * *")(fn)
    with pytest.raises(InvalidInputError, match="not a trigger"):
        sy.pipeline(triggers=["dataset:transactions"])(fn)
    with pytest.raises(InvalidInputError, match="param"):
        sy.on_dataset("transactions", param="not a name")
    with pytest.raises(InvalidInputError, match="cannot be imported"):
        service.add(sy.pipeline(schedule="@daily")(fn))


def test_a_request_recorded_without_importing_fails_in_the_scheduler(
    workspace: Workspace, service: SchedulerService
) -> None:
    with pytest.raises(InvalidInputError, match="module:attribute"):
        service.request("no-colon", check=False)
    request = service.request("project_not_here:training", {"n": 1}, "retrain", check=False)
    [claim] = service.scheduler().run_once()
    assert claim.event_key == f"request:{request.id}" and claim.status is ClaimStatus.ERROR
    assert "project_not_here" in (claim.error or "")


def test_the_loop_runs_passes_until_stopped_and_survives_a_failing_pass(
    workspace: Workspace, service: SchedulerService
) -> None:
    import threading

    from shipyard.core.errors import BackendUnavailable

    stop = threading.Event()
    notices: list[Notice] = []

    def notify(notice: Notice) -> None:
        notices.append(notice)
        if notice.kind == "finished":
            stop.set()

    scheduler = service.scheduler(notify=notify)
    passes = {"n": 0}
    real_pass = scheduler.run_once

    def flaky_pass() -> list:
        passes["n"] += 1
        if passes["n"] == 1:
            raise BackendUnavailable("the database is away")
        if passes["n"] == 2:
            service.request(f"{REF}:needs_value", {"value": "after the outage"})
        return real_pass()

    scheduler.run_once = flaky_pass  # type: ignore[method-assign]
    scheduler.run_forever(interval_s=0.01, stop=stop)
    assert [n.kind for n in notices] == ["error", "claimed", "finished"]
    assert "the database is away" in (notices[0].error or "")
    assert notices[2].status == "succeeded"
