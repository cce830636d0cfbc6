"""``/api/v1/deployments``: serving's control plane over REST.

Every route calls the workspace's :class:`~shipyard.serving.service.ServingService`, so
a deploy is checked here exactly as it is embedded (route syntax, weights summing to
100, models and aliases known to the registry). Reads need ``viewer``; deploys, weight
changes, undeploys and what the data plane posts (route statuses, feedback, segment
index rows) need ``editor``.

- ``PUT /{name}``: deploy (201 with the new spec version, 200 when nothing changed);
- ``GET /{name}``, ``GET /{name}/history``, ``GET /{name}/resolve``, ``DELETE /{name}``;
- ``PATCH /{name}/routes/{route}`` ``{"weight": 25, "reason": ...}``;
- ``POST /{name}/status`` ``{route, model_version, state, error?, updated_at?}``;
- ``POST /{name}/feedback`` ``{request_id, label, ts?}`` or a list of them, answered
  ``{"accepted": n, "unknown": [ids not in the log]}``;
- ``POST /{name}/segments``: index a prediction-log segment a remote data plane wrote;
- ``GET /{name}/predictions?start=&end=&with_labels=&format=arrow|json``: the log with
  labels, as an Arrow IPC stream (``prediction``, ``inputs``, ``label`` JSON text) or JSON.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from shipyard.core.errors import InvalidInputError
from shipyard.server.auth import WorkspaceDep, by_method
from shipyard.server.encoding import json_response
from shipyard.serving.models import PredictionSegment, RouteStatus

router = APIRouter(prefix="/api/v1/deployments", tags=["serving"], dependencies=[by_method])
MAX_LISTED = 10_000
MAX_FEEDBACK_BYTES = 64 * 1024 * 1024
ARROW_STREAM = "application/vnd.apache.arrow.stream"
Routes = str | list[str] | None


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class Lax(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BatchingIn(Lax):
    max_batch_size: int = 64
    max_wait_ms: float = 2.0


class DeployIn(Strict):
    """What ``sy.deploy`` takes: route strings (``"fraud:7=10%"``; a list for several)."""

    model: str | None = None
    canary: Routes = None
    shadow: Routes = None
    ab: Routes = None
    features: str | None = None
    batching: BatchingIn | None = None
    routing_key: str | None = None
    reason: str | None = None


class WeightIn(Lax):
    """A weight in percent: a number, or text like ``"25%"``."""

    weight: float | str
    reason: str | None = None


class StatusIn(Strict):
    route: str
    model_version: str | None = None
    state: str
    error: str | None = None
    updated_at: int = 0


class SegmentIn(Strict):
    id: str
    digest: str
    rows: int = Field(ge=1)
    min_ts: int
    max_ts: int
    created_at: int = 0


@router.get("")
def list_deployments(
    workspace: WorkspaceDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Live deployments (latest spec and route statuses), by name."""
    return json_response([d.to_dict() for d in workspace.serving.list(limit, offset)])


@router.put("/{name}")
def deploy(name: str, body: DeployIn, workspace: WorkspaceDep) -> Response:
    """Deploy: a new version of the spec (201), or the current one when nothing changed (200)."""
    serving = workspace.serving
    before = _latest(serving, name)
    batching = None if body.batching is None else body.batching.model_dump()
    spec = serving.deploy(
        name,
        body.model,
        body.canary,
        body.shadow,
        body.ab,
        body.features,
        batching,
        body.routing_key,
        body.reason,
    )
    return json_response(spec.to_dict(), 200 if spec.version == before else 201)


def _latest(serving: Any, name: str) -> int:
    from shipyard.core.errors import NotFoundError

    try:
        return int(serving.get(name).spec.version)
    except NotFoundError:
        return 0


@router.get("/{name}")
def get_deployment(name: str, workspace: WorkspaceDep) -> Response:
    """The latest spec and the last status reported for each route."""
    return json_response(workspace.serving.get(name).to_dict())


@router.delete("/{name}")
def undeploy(name: str, workspace: WorkspaceDep, reason: Annotated[str | None, Query()] = None) -> Response:
    """Stop serving it; its history stays."""
    workspace.serving.undeploy(name, reason)
    return json_response({"name": name, "undeployed": True})


@router.get("/{name}/history")
def history(name: str, workspace: WorkspaceDep) -> Response:
    """Every version of the spec, oldest first."""
    return json_response([s.to_dict() for s in workspace.serving.history(name)])


@router.get("/{name}/resolve")
def resolve(name: str, workspace: WorkspaceDep) -> Response:
    """Each route with the model version it names now (aliases followed)."""
    return json_response([r.to_dict() for r in workspace.serving.resolve(name)])


@router.patch("/{name}/routes/{route}")
def set_weight(name: str, route: str, body: WeightIn, workspace: WorkspaceDep) -> Response:
    """Give ``route`` a share of the traffic (a new version of the spec)."""
    return json_response(workspace.serving.set_weight(name, route, body.weight, body.reason).to_dict())


@router.post("/{name}/status", status_code=204)
def report_status(name: str, body: StatusIn, workspace: WorkspaceDep) -> Response:
    """What the data plane serves on one route (shown by ``shipyard deployments show``)."""
    workspace.serving.report_status(name, RouteStatus(**body.model_dump()))
    return Response(status_code=204)


@router.post("/{name}/feedback")
async def feedback(name: str, request: Request, workspace: WorkspaceDep) -> Response:
    """Labels of logged predictions: one ``{request_id, label, ts?}`` or a list of them."""
    from starlette.concurrency import run_in_threadpool

    items = _json_body(await request.body())
    result = await run_in_threadpool(workspace.serving.record_feedback, items, name)
    return json_response(result)


def _json_body(raw: bytes) -> Any:
    if len(raw) > MAX_FEEDBACK_BYTES:
        raise InvalidInputError(f"the body is over {MAX_FEEDBACK_BYTES} bytes: send the labels in parts")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInputError(f"the body is not JSON: {exc}") from None


@router.post("/{name}/segments", status_code=201)
def add_segment(name: str, body: SegmentIn, workspace: WorkspaceDep) -> Response:
    """Index a prediction-log segment whose Parquet file is already in the artifact store."""
    serving = workspace.serving
    created_at = body.created_at or serving.clock()
    segment = PredictionSegment(body.id, name, body.digest, body.rows, body.min_ts, body.max_ts, created_at)
    return json_response(serving.add_segment(segment).to_dict(), 201)


@router.get("/{name}/predictions")
def predictions(
    name: str,
    workspace: WorkspaceDep,
    start: Annotated[int | None, Query(description="ms since the epoch, inclusive")] = None,
    end: Annotated[int | None, Query(description="ms since the epoch, exclusive")] = None,
    with_labels: bool = True,
    format: Annotated[str, Query(pattern="^(arrow|json)$")] = "arrow",
) -> Response:
    """The prediction log with its labels, as an Arrow IPC stream or JSON rows."""
    table = workspace.serving.predictions_table(name, start, end, with_labels)
    if format == "json":
        return json_response(_rows(table))
    return Response(_ipc(table), media_type=ARROW_STREAM)


def _ipc(table: Any) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def _rows(table: Any) -> list[dict[str, Any]]:
    """Rows with the JSON-text columns decoded."""
    rows: list[dict[str, Any]] = table.to_pylist()
    for row in rows:
        for column in ("prediction", "inputs", "label"):
            text = row.get(column)
            if isinstance(text, str):
                row[column] = orjson.loads(text)
    return rows
