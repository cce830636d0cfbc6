"""Tracking calls in the shape of the store, for :class:`~shipyard.tracking.store.rest.RestTrackingStore`.

A remote SDK runs its own :class:`~shipyard.tracking.service.TrackingService`,
which already chose ids and timestamps before its REST store sends them, so the
server must keep them. ``TrackingService`` has no parameters for that yet, so these
few calls check their input with the same rules (``core.names``, artifact paths)
and record the same audit events, then reach the service's store. Everything else
the routers send straight through the service.

TODO(lead): give TrackingService keyword-only ``experiment_id/created_at``,
``run_id/start_time`` (by experiment id), ``end_time``, ``at`` and
``find_stale_runs``/``record_artifacts``/``search`` on parsed filters; then this
module goes away.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shipyard.core import names
from shipyard.core.actors import current_actor
from shipyard.core.errors import InvalidInputError, NotFoundError
from shipyard.storage.paths import check_artifact_path
from shipyard.tracking.filters import Expr, OrderBy
from shipyard.tracking.models import Artifact, Experiment, RunRecord, RunStatus
from shipyard.tracking.service import MAX_RESULTS, TrackingService
from shipyard.workspace import Workspace

MAX_ARTIFACTS = 100_000


def _id(value: str, what: str) -> str:
    if not value or len(value) > 64 or not value.isalnum():
        raise InvalidInputError(f"{what} {value!r} is invalid: ids are 1 to 64 letters and digits")
    return value


def _tags(tags: Mapping[str, str]) -> dict[str, str]:
    return {
        names.check_key(k, "tag key"): names.check_value(v, names.MAX_TAG_VALUE_LENGTH, f"tag {k!r}")
        for k, v in tags.items()
    }


def _record(workspace: Workspace, action: str, target: str, payload: Any) -> None:
    workspace.audit.record(current_actor(), action, target, payload)


def create_experiment(
    workspace: Workspace, experiment_id: str, name: str, created_at: int, tags: Mapping[str, str]
) -> Experiment:
    """Create an experiment with the caller's id and time."""
    names.check_name(name, "experiment name")
    clean = _tags(tags)
    found = workspace.tracking.store.create_experiment(
        _id(experiment_id, "experiment id"), name, created_at, clean
    )
    _record(workspace, "experiment.create", f"experiment:{found.id}", {"name": name, "tags": clean})
    return found


def create_run(
    workspace: Workspace,
    run_id: str,
    experiment_id: str,
    name: str,
    start_time: int,
    tags: Mapping[str, str],
    lineage: Mapping[str, Any],
) -> RunRecord:
    """Create a run with the caller's id and start time in an existing experiment (by id)."""
    names.check_name(name, "run name")
    clean = _tags(tags)
    if not experiment_id.isalnum():
        raise NotFoundError(f"experiment {experiment_id!r} not found")
    run = workspace.tracking.store.create_run(
        _id(run_id, "run id"), experiment_id, name, start_time, clean, dict(lineage)
    )
    _record(workspace, "run.create", f"run:{run.id}", {"experiment_id": experiment_id, "name": name})
    return run


def set_run_status(
    workspace: Workspace, run_id: str, status: RunStatus, end_time: int | None, error: str | None
) -> RunRecord:
    """End a run at the caller's time (``ConflictError`` if it already ended)."""
    tracking = workspace.tracking
    if end_time is None:
        return tracking.end_run(run_id, status, error)
    run = tracking.store.set_run_status(run_id, status, end_time, error)
    _record(workspace, f"run.{status.value}", f"run:{run_id}", {"error": error})
    return run


def heartbeat(tracking: TrackingService, run_id: str, at: int | None) -> None:
    """Record that the run's process is alive at ``at`` (None: now)."""
    if at is None:
        tracking.heartbeat(run_id)
    else:
        tracking.store.heartbeat(run_id, at)


def find_stale_runs(tracking: TrackingService, heartbeat_before: int) -> list[RunRecord]:
    """Running runs whose last heartbeat (or start) is older than ``heartbeat_before``."""
    return tracking.store.find_stale_runs(heartbeat_before)


def log_artifacts(workspace: Workspace, run_id: str, artifacts: Sequence[Artifact]) -> None:
    """Record logical path -> digest (paths checked here, the content was uploaded before)."""
    if len(artifacts) > MAX_ARTIFACTS:
        raise InvalidInputError(f"at most {MAX_ARTIFACTS} artifact records per call, got {len(artifacts)}")
    clean = [Artifact(check_artifact_path(a.path), a.digest, a.size) for a in artifacts]
    workspace.tracking.store.log_artifacts(run_id, clean)
    if clean:
        _record(workspace, "run.log_artifacts", f"run:{run_id}", [a.path for a in clean])


def search_runs(
    tracking: TrackingService,
    experiment_ids: Sequence[str] | None,
    expr: Expr | None,
    order_by: Sequence[OrderBy],
    max_results: int,
    offset: int,
) -> list[RunRecord]:
    """Runs matching an already parsed filter."""
    if max_results < 1 or max_results > MAX_RESULTS:
        raise InvalidInputError(f"max_results must be between 1 and {MAX_RESULTS}, got {max_results}")
    return tracking.store.search_runs(
        experiment_ids, expr, order_by, max_results=max_results, offset=max(offset, 0)
    )
