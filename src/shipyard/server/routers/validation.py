"""``/api/v1/validation/results``: keep the result of a suite run by a remote SDK, and read results.

The SDK runs the suite where it is; :class:`~shipyard.validation.remote.ValidationRecords`
checks the result's shape and the store refuses one on a dataset version that
does not exist. The audit event names the caller's token user (``anonymous``
without a token).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from shipyard.core.actors import current_actor
from shipyard.server.auth import WorkspaceDep, by_method
from shipyard.server.encoding import json_response
from shipyard.validation.models import CheckResult, ValidationResult
from shipyard.validation.remote import MAX_LISTED, ValidationRecords

router = APIRouter(prefix="/api/v1/validation", tags=["validation"], dependencies=[by_method])


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class CheckIn(Strict):
    """One check's outcome, as :meth:`CheckResult.to_dict` writes it."""

    check: dict[str, Any]
    kind: str
    column: str | None
    success: bool
    observed: Any = None
    expected: Any = None
    failing_rows: int = Field(default=0, ge=0)
    failing_fraction: float = Field(default=0.0, ge=0.0, le=1.0)
    sample: list[dict[str, Any]] = Field(default_factory=list)
    message: str = ""
    details: dict[str, Any] = Field(default_factory=dict)


class ResultIn(Strict):
    """A result, as :meth:`ValidationResult.to_dict` writes it; ``id`` chosen by the server if null."""

    suite_name: str
    suite_digest: str
    data_ref: str
    success: bool
    checks: list[CheckIn]
    created_at: int = Field(ge=0)
    dataset_version_id: str | None = None
    id: str | None = None


@router.post("/results", status_code=201)
def save_result(body: ResultIn, workspace: WorkspaceDep) -> Response:
    """Store a result (409 if its id is taken, 404 if its dataset version does not exist)."""
    result = ValidationResult(
        suite_name=body.suite_name,
        suite_digest=body.suite_digest,
        data_ref=body.data_ref,
        success=body.success,
        checks=[CheckResult(**check.model_dump()) for check in body.checks],
        created_at=body.created_at,
        dataset_version_id=body.dataset_version_id,
        id=body.id,
    )
    result_id = ValidationRecords(workspace.validation).save_result(result, current_actor())
    return json_response({"id": result_id}, 201)


@router.get("/results")
def list_results(
    workspace: WorkspaceDep,
    dataset_version_id: str | None = None,
    suite_digest: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 100,
) -> Response:
    """Results matching the filters, newest first."""
    found = ValidationRecords(workspace.validation).list_results(dataset_version_id, suite_digest, limit)
    return json_response([r.to_dict() for r in found])


@router.get("/results/latest")
def latest_result(dataset_version_id: str, suite_digest: str, workspace: WorkspaceDep) -> Response:
    """The newest result of the suite on the version, or null."""
    found = ValidationRecords(workspace.validation).latest_result(dataset_version_id, suite_digest)
    return json_response(None if found is None else found.to_dict())
