"""``/api/v1/experiments``: create, get, find by name, list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from shipyard.core.errors import NotFoundError
from shipyard.server import tracking_store_api as store_api
from shipyard.server.auth import WorkspaceDep, by_method
from shipyard.server.encoding import experiment_json, json_response

router = APIRouter(prefix="/api/v1/experiments", tags=["experiments"], dependencies=[by_method])


class ExperimentIn(BaseModel):
    """A new experiment; ``id`` and ``created_at`` are chosen by the server unless given."""

    model_config = ConfigDict(strict=True, extra="forbid")
    name: str
    tags: dict[str, str] = Field(default_factory=dict)
    id: str | None = None
    created_at: int | None = None


@router.post("", status_code=201)
def create_experiment(body: ExperimentIn, workspace: WorkspaceDep) -> Response:
    """Create an experiment (409 ``already_exists`` if the name is taken)."""
    if body.id is None or body.created_at is None:
        experiment = workspace.tracking.create_experiment(body.name, body.tags)
    else:
        experiment = store_api.create_experiment(workspace, body.id, body.name, body.created_at, body.tags)
    return json_response(experiment_json(experiment), 201)


@router.get("")
def list_experiments(
    workspace: WorkspaceDep,
    name: Annotated[str | None, Query(description="only the experiment of this name")] = None,
    limit: Annotated[int, Query(ge=1, le=50_000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Experiments oldest first; with ``name``, a list of zero or one experiment."""
    tracking = workspace.tracking
    if name is not None:
        try:
            found = tracking.get_experiment(name)
        except NotFoundError:
            return json_response([])
        return json_response([experiment_json(found)] if found.name == name else [])
    return json_response([experiment_json(e) for e in tracking.list_experiments(limit=limit, offset=offset)])


@router.get("/{experiment_id}")
def get_experiment(experiment_id: str, workspace: WorkspaceDep) -> Response:
    """One experiment by id."""
    found = workspace.tracking.get_experiment(experiment_id)
    if found.id != experiment_id:  # the service looks names up first
        raise NotFoundError(f"experiment {experiment_id!r} not found")
    return json_response(experiment_json(found))
