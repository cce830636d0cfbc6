"""``/api/v1/evaluations`` and a version's evaluations and model card.

A remote client evaluates where its data is and posts the record; the plots' blobs
must be uploaded first (``PUT /api/v1/blobs/{digest}``). The server checks the
record (:class:`~shipyard.registry.remote.EvaluationRecords`) and keeps it as the
caller, at its own time.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from shipyard.registry import wire
from shipyard.registry.card_records import gather_card, render_card
from shipyard.registry.remote import EvaluationRecords
from shipyard.server.auth import WorkspaceDep, by_method
from shipyard.server.encoding import json_response
from shipyard.server.registry_access import RegistryDep

router = APIRouter(prefix="/api/v1", tags=["registry"], dependencies=[by_method])

Number = float | str  # non-finite numbers travel as "NaN", "Infinity", "-Infinity"
MEDIA_TYPES = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8",
               "json": "application/json"}  # fmt: skip


class EvaluationIn(BaseModel):
    """An evaluation as ``Evaluation`` holds it; ``created_by``/``created_at`` are set by the server."""

    model_config = ConfigDict(strict=True, extra="forbid")

    id: str
    model_name: str | None = None
    model_version: int | None = Field(default=None, ge=1)
    package_digest: str
    model_uri: str
    dataset_ref: str
    dataset_digest: str
    target: str
    task: str
    metrics: dict[str, Number]
    confusion_matrix: list[list[int]] | None = None
    slices: dict[str, dict[str, dict[str, Number]]] = Field(default_factory=dict)
    fairness: dict[str, dict[str, Number]] = Field(default_factory=dict)
    plots: dict[str, str] = Field(default_factory=dict)
    n_rows: int = Field(ge=0)
    created_at: int | None = Field(default=None, ge=0, description="ignored: the server's time is kept")
    created_by: str | None = Field(default=None, description="ignored: the caller is kept")


@router.post("/evaluations", status_code=201)
def save_evaluation(body: EvaluationIn, registry: RegistryDep, workspace: WorkspaceDep) -> Response:
    """Keep an evaluation computed by a client (editor); 400 if a link does not check out."""
    fields: dict[str, Any] = {**body.model_dump(), "created_at": 0, "created_by": ""}
    evaluation = wire.evaluation_from_json(fields)
    kept = EvaluationRecords(registry, workspace.content, workspace.datasets).save(evaluation)
    return json_response(wire.evaluation_json(kept), 201)


@router.get("/models/{name}/versions/{version}/evaluations")
def list_evaluations(name: str, version: int, registry: RegistryDep) -> Response:
    """Evaluations of the version's package, newest first."""
    return json_response([wire.evaluation_json(e) for e in registry.list_evaluations(name, version)])


@router.get("/models/{name}/versions/{version}/card")
def card(
    name: str,
    version: int,
    registry: RegistryDep,
    workspace: WorkspaceDep,
    format: Annotated[Literal["md", "html", "json"], Query(description="md, html or json")] = "md",
) -> Response:
    """The version's model card: Markdown, one self-contained HTML page (plots embedded), or JSON."""
    built = gather_card(
        registry,
        name,
        version,
        validation=workspace.validation,
        content=workspace.content if format == "html" else None,
    )
    return Response(render_card(built, format), media_type=MEDIA_TYPES[format])
