"""TrackingService with caller-chosen ids and times, strict lookups and recorded artifacts."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.core.errors import InvalidInputError, NotFoundError
from shipyard.core.ids import new_id
from shipyard.governance.service import AuditService
from shipyard.governance.store.memory import MemoryAuditStore
from shipyard.storage.cas import ContentStore
from shipyard.storage.local import LocalBlobStore
from shipyard.tracking.filters import parse_filter
from shipyard.tracking.models import Artifact, RunStatus
from shipyard.tracking.service import TrackingService
from shipyard.tracking.store.memory import MemoryTrackingStore


@pytest.fixture
def service(tmp_path: Path) -> TrackingService:
    content = ContentStore(LocalBlobStore(tmp_path / "artifacts"))
    return TrackingService(MemoryTrackingStore(), audit=AuditService(MemoryAuditStore()), content=content)


def actions(service: TrackingService) -> list[str]:
    assert service.audit is not None
    return [e.action for e in service.audit.list_events()]


def test_supplied_ids_and_times_are_kept_and_audited(service: TrackingService) -> None:
    exp_id, run_id = new_id(), new_id()
    experiment = service.create_experiment("churn", experiment_id=exp_id, created_at=5)
    assert (experiment.id, experiment.created_at) == (exp_id, 5)
    run = service.create_run(run_id=run_id, start_time=10, experiment_id=exp_id)
    assert (run.id, run.experiment_id, run.start_time, run.name) == (run_id, exp_id, 10, f"run-{run_id[-8:]}")
    service.heartbeat(run_id, at=20)
    assert [r.id for r in service.find_stale_runs(21)] == [run_id]
    ended = service.end_run(run_id, RunStatus.FAILED, "boom", end_time=30)
    assert (ended.status, ended.end_time, ended.error) == (RunStatus.FAILED, 30, "boom")
    assert actions(service) == ["experiment.create", "run.create", "run.failed"]


@pytest.mark.parametrize("bad", ["x", "A" * 32, "0" * 31, "g" * 32, "../" + "0" * 29])
def test_supplied_ids_must_look_like_ids(service: TrackingService, bad: str) -> None:
    with pytest.raises(InvalidInputError, match="32 lowercase hex"):
        service.create_experiment("e", experiment_id=bad)
    exp = service.create_experiment("ok")
    with pytest.raises(InvalidInputError, match="32 lowercase hex"):
        service.create_run(run_id=bad, experiment_id=exp.id)
    with pytest.raises(InvalidInputError, match="start_time"):
        service.create_run("ok", start_time=-1)


def test_create_run_needs_exactly_one_experiment(service: TrackingService) -> None:
    exp = service.create_experiment("e")
    with pytest.raises(InvalidInputError):
        service.create_run()
    with pytest.raises(InvalidInputError):
        service.create_run("e", experiment_id=exp.id)
    with pytest.raises(NotFoundError):
        service.create_run(experiment_id=new_id())


def test_get_experiment_by_id_never_tries_names(service: TrackingService) -> None:
    named_like_an_id = new_id()
    other = service.create_experiment(named_like_an_id)
    assert service.get_experiment(named_like_an_id) == other
    with pytest.raises(NotFoundError):
        service.get_experiment_by_id(named_like_an_id)
    assert service.get_experiment_by_id(other.id) == other
    assert service.find_experiment_by_name("nope") is None


def test_record_artifacts_needs_the_content(service: TrackingService) -> None:
    run = service.create_run("e")
    assert service.content is not None
    digest = service.content.put_bytes(b"weights")
    recorded = service.record_artifacts(run.id, [Artifact("model//w.bin", digest, 7)])
    assert recorded == service.list_artifacts(run.id) == [Artifact("model/w.bin", digest, 7)]
    with pytest.raises(InvalidInputError, match="7"):
        service.record_artifacts(run.id, [Artifact("w.bin", digest, 8)])
    missing = service.content.put_bytes(b"other").replace("blake3:", "blake3:0")[:71]
    with pytest.raises(NotFoundError, match="upload it first"):
        service.record_artifacts(run.id, [Artifact("x.bin", missing, 1)])
    with pytest.raises(InvalidInputError):
        service.record_artifacts(run.id, [Artifact("../x", digest, 7)])
    with pytest.raises(NotFoundError):
        service.record_artifacts(new_id(), [Artifact("w.bin", digest, 7)])
    assert actions(service).count("run.log_artifacts") == 1


def test_search_runs_parsed(service: TrackingService) -> None:
    first = service.create_run("e", "a")
    service.create_run("e", "b")
    found = service.search_runs_parsed(None, parse_filter("attributes.run_name = 'a'"), [])
    assert [r.id for r in found] == [first.id]
    with pytest.raises(InvalidInputError, match="max_results"):
        service.search_runs_parsed(None, None, [], max_results=0)
