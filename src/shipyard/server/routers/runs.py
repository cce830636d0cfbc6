"""``/api/v1/runs``: create, end, heartbeat, params, tags, metric batches and history,
search, artifact records and the stale-run collector."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr
from starlette.responses import Response

from shipyard.server.auth import WorkspaceDep, by_method, viewer_only
from shipyard.server.encoding import artifact_json, history_json, json_response, run_json
from shipyard.tracking.filter_codec import expr_from_json, order_by_from_json
from shipyard.tracking.filters import OrderBy, parse_filter, parse_order_by
from shipyard.tracking.models import Artifact, RunInput, RunStatus
from shipyard.tracking.service import MAX_RESULTS

router = APIRouter(prefix="/api/v1/runs", tags=["runs"], dependencies=[by_method])
search_router = APIRouter(prefix="/api/v1/runs", tags=["runs"], dependencies=[viewer_only])

NonFinite = Literal["NaN", "Infinity", "-Infinity"]
_NON_FINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class RunIn(Strict):
    """A new run in experiment ``experiment`` (a name, created if new) or ``experiment_id``;
    ``id`` and ``start_time`` are chosen by the server unless given (the REST store sends them)."""

    experiment: str | None = None
    experiment_id: str | None = None
    name: str | None = None
    id: str | None = None
    start_time: int | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    lineage: dict[str, Any] = Field(default_factory=dict)


class EndIn(Strict):
    status: Annotated[RunStatus, Field(strict=False)] = RunStatus.FINISHED
    end_time: int | None = None
    error: str | None = None


class HeartbeatIn(Strict):
    at: int | None = None


class ParamsIn(Strict):
    params: dict[str, str]


class TagsIn(Strict):
    tags: dict[str, str]


class MetricsIn(BaseModel):
    """Points as ``[key, value, step, timestamp_ms]``; non-finite values as "NaN", "Infinity", "-Infinity"."""

    model_config = ConfigDict(extra="forbid")  # JSON arrays are tuples only in lax mode; items stay strict
    metrics: list[tuple[StrictStr, StrictFloat | NonFinite, StrictInt, StrictInt]]


class ArtifactIn(Strict):
    path: str
    digest: str
    size: int = Field(ge=0)


class ArtifactsIn(Strict):
    artifacts: list[ArtifactIn]


class InputIn(Strict):
    kind: str
    ref: str
    digest: str
    context: str
    created_at: int = Field(default=0, ge=0)


class InputsIn(Strict):
    inputs: list[InputIn]


class SearchIn(Strict):
    """``filter``: the filter language as text, or its parsed JSON form; ``order_by`` likewise."""

    experiment_ids: list[str] | None = None
    experiments: list[str] | None = Field(default=None, description="experiment names")
    filter: str | dict[str, Any] | None = None
    order_by: str | list[str] | list[dict[str, Any]] | None = None
    max_results: int = Field(default=1000, ge=1, le=MAX_RESULTS)
    offset: int = Field(default=0, ge=0)


class GcIn(Strict):
    stale_after_s: float = Field(gt=0)


@router.post("", status_code=201)
def create_run(body: RunIn, workspace: WorkspaceDep) -> Response:
    """Create a run (404 if ``experiment_id`` is unknown; an ``experiment`` name is created if new)."""
    run = workspace.tracking.create_run(
        body.experiment,
        body.name,
        body.tags,
        body.lineage,
        run_id=body.id,
        start_time=body.start_time,
        experiment_id=body.experiment_id,
    )
    return json_response(run_json(run), 201)


@router.get("/artifact-digests")
def artifact_digests(workspace: WorkspaceDep) -> Response:
    """Every content digest referenced by a run artifact (what storage gc must keep)."""
    return json_response(sorted(workspace.tracking.artifact_digests()))


@router.get("/stale")
def find_stale_runs(workspace: WorkspaceDep, heartbeat_before: Annotated[int, Query()]) -> Response:
    """Running runs whose last heartbeat (or start) is older than ``heartbeat_before`` (ms)."""
    return json_response([run_json(r) for r in workspace.tracking.find_stale_runs(heartbeat_before)])


@router.post("/gc")
def kill_stale_runs(body: GcIn, workspace: WorkspaceDep) -> Response:
    """Mark ``killed`` every running run without a heartbeat for ``stale_after_s`` seconds."""
    return json_response([run_json(r) for r in workspace.tracking.kill_stale_runs(body.stale_after_s)])


@search_router.post("/search")
def search_runs(body: SearchIn, workspace: WorkspaceDep) -> Response:
    """Runs matching ``filter``, sorted by ``order_by`` then newest start first."""
    tracking = workspace.tracking
    ids = body.experiment_ids
    if body.experiments is not None:
        ids = [*(ids or []), *(tracking.get_experiment(name).id for name in body.experiments)]
    expr = parse_filter(body.filter) if isinstance(body.filter, str) else expr_from_json(body.filter)
    runs = tracking.search_runs_parsed(ids, expr, _order_by(body.order_by), body.max_results, body.offset)
    return json_response([run_json(r) for r in runs])


def _order_by(raw: str | list[str] | list[dict[str, Any]] | None) -> list[OrderBy]:
    if raw is None or isinstance(raw, str) or all(isinstance(item, str) for item in raw):
        return parse_order_by(raw)  # type: ignore[arg-type]
    return order_by_from_json(raw)


@router.get("/{run_id}")
def get_run(run_id: str, workspace: WorkspaceDep) -> Response:
    return json_response(run_json(workspace.tracking.get_run(run_id)))


@router.post("/{run_id}/end")
def end_run(run_id: str, body: EndIn, workspace: WorkspaceDep) -> Response:
    """End a running run (409 ``conflict`` if it already ended)."""
    return json_response(
        run_json(workspace.tracking.end_run(run_id, body.status, body.error, end_time=body.end_time))
    )


@router.post("/{run_id}/heartbeat", status_code=204)
def heartbeat(run_id: str, body: HeartbeatIn, workspace: WorkspaceDep) -> Response:
    workspace.tracking.heartbeat(run_id, at=body.at)
    return Response(status_code=204)


@router.post("/{run_id}/params", status_code=204)
def log_params(run_id: str, body: ParamsIn, workspace: WorkspaceDep) -> Response:
    """Record params (409 ``conflict`` if one already has another value; then nothing is written)."""
    workspace.tracking.log_params(run_id, body.params)
    return Response(status_code=204)


@router.post("/{run_id}/tags", status_code=204)
def set_tags(run_id: str, body: TagsIn, workspace: WorkspaceDep) -> Response:
    workspace.tracking.set_tags(run_id, body.tags)
    return Response(status_code=204)


@router.post("/{run_id}/metrics", status_code=204)
def log_metrics(run_id: str, body: MetricsIn, workspace: WorkspaceDep) -> Response:
    """Append a batch of points, all or nothing."""
    rows = [(k, _NON_FINITE[v] if isinstance(v, str) else v, s, t) for k, v, s, t in body.metrics]
    workspace.tracking.log_metrics(run_id, rows)
    return Response(status_code=204)


@router.get("/{run_id}/metrics/history")
def get_metric_history(run_id: str, key: Annotated[str, Query()], workspace: WorkspaceDep) -> Response:
    """Every point of metric ``key`` in (step, timestamp) order, as columns."""
    return json_response(history_json(workspace.tracking.get_metric_history(run_id, key)))


@router.post("/{run_id}/artifacts", status_code=204)
def log_artifacts(run_id: str, body: ArtifactsIn, workspace: WorkspaceDep) -> Response:
    """Record artifacts (logical path -> digest) whose content was uploaded to ``/blobs`` first."""
    records = [Artifact(a.path, a.digest, a.size) for a in body.artifacts]
    workspace.tracking.record_artifacts(run_id, records)
    return Response(status_code=204)


@router.post("/{run_id}/inputs", status_code=204)
def log_inputs(run_id: str, body: InputsIn, workspace: WorkspaceDep) -> Response:
    """Record what the run read (dataset versions), keeping the client's times."""
    inputs = [RunInput(i.kind, i.ref, i.digest, i.context, i.created_at) for i in body.inputs]
    workspace.tracking.log_inputs(run_id, inputs)
    return Response(status_code=204)


@router.get("/{run_id}/inputs")
def list_inputs(run_id: str, workspace: WorkspaceDep) -> Response:
    return json_response(
        [
            {
                "kind": i.kind,
                "ref": i.ref,
                "digest": i.digest,
                "context": i.context,
                "created_at": i.created_at,
            }
            for i in workspace.tracking.list_inputs(run_id)
        ]
    )


@router.get("/{run_id}/artifacts")
def list_artifacts(run_id: str, workspace: WorkspaceDep) -> Response:
    return json_response([artifact_json(a) for a in workspace.tracking.list_artifacts(run_id)])
