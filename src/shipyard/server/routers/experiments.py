"""``/api/v1/experiments``: create, get, find by name, list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

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
    experiment = workspace.tracking.create_experiment(
        body.name, body.tags, experiment_id=body.id, created_at=body.created_at
    )
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
        found = tracking.find_experiment_by_name(name)
        return json_response([] if found is None else [experiment_json(found)])
    return json_response([experiment_json(e) for e in tracking.list_experiments(limit=limit, offset=offset)])


@router.get("/{experiment_id}")
def get_experiment(experiment_id: str, workspace: WorkspaceDep) -> Response:
    """One experiment by id (names are not looked up here)."""
    return json_response(experiment_json(workspace.tracking.get_experiment_by_id(experiment_id)))
