"""``/api/v1/datasets``: record a version whose blobs were uploaded, read datasets and versions.

A remote SDK hashes, profiles and uploads the files itself, then posts the
version with the ids and times it chose; :class:`~shipyard.datasets.remote.DatasetRecords`
checks it (every file's content must be on the server with the stated size) and
the store numbers it. The version is recorded as the caller's token user, or as
the user the body names for an anonymous caller (loopback without ``--auth``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from shipyard.datasets.models import DatasetVersion, FileEntry
from shipyard.datasets.remote import MAX_LISTED, DatasetRecords
from shipyard.datasets.store.rest import version_json
from shipyard.governance.models import Token
from shipyard.server.auth import WorkspaceDep, by_method
from shipyard.server.encoding import json_response
from shipyard.workspace import Workspace

router = APIRouter(prefix="/api/v1", tags=["datasets"], dependencies=[by_method])
Caller = Annotated[Token | None, by_method]
Limit = Annotated[int, Query(ge=1, le=MAX_LISTED)]
Offset = Annotated[int, Query(ge=0)]


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class FileIn(Strict):
    path: str
    digest: str
    size: int = Field(ge=0)


class VersionIn(Strict):
    """A new version of the dataset in the URL: the fields of a ``DatasetVersion`` but name and number."""

    dataset_id: str
    id: str
    digest: str
    created_at: int = Field(ge=0)
    kind: str
    files: list[FileIn]
    size: int = Field(ge=0)
    message: str | None = None
    created_by: str = ""
    source_path: str | None = None
    row_count: int | None = None
    schema_: dict[str, list[list[str]]] = Field(default_factory=dict, alias="schema")
    profile: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)


def _records(workspace: Workspace) -> DatasetRecords:
    return DatasetRecords(workspace.datasets)


@router.post("/datasets/{name}/versions", status_code=201)
def create_version(name: str, body: VersionIn, workspace: WorkspaceDep, caller: Caller) -> Response:
    """Record a version (201), or return the latest when it has the same digest (200)."""
    draft = DatasetVersion(
        id=body.id,
        name=name,
        version=0,
        digest=body.digest,
        created_at=body.created_at,
        kind=body.kind,
        files=tuple(FileEntry(f.path, f.digest, f.size) for f in body.files),
        size=body.size,
        message=body.message,
        created_by=body.created_by if caller is None else caller.name,
        source_path=body.source_path,
        row_count=body.row_count,
        schema=body.schema_,
        profile=body.profile,
    )
    version, created = _records(workspace).create_version(draft, body.dataset_id)
    return json_response(version_json(version), 201 if created else 200)


@router.get("/datasets")
def list_datasets(workspace: WorkspaceDep, limit: Limit = 1000, offset: Offset = 0) -> Response:
    """Datasets sorted by name."""
    found = _records(workspace).list_datasets(limit, offset)
    return json_response([{"id": d.id, "name": d.name, "created_at": d.created_at} for d in found])


@router.get("/datasets/{name}")
def get_dataset(name: str, workspace: WorkspaceDep) -> Response:
    """One dataset by name."""
    found = _records(workspace).get_dataset(name)
    return json_response({"id": found.id, "name": found.name, "created_at": found.created_at})


@router.get("/datasets/{name}/versions")
def list_versions(name: str, workspace: WorkspaceDep, limit: Limit = 1000, offset: Offset = 0) -> Response:
    """Versions oldest first (404 for an unknown dataset)."""
    return json_response([version_json(v) for v in _records(workspace).list_versions(name, limit, offset)])


@router.get("/datasets/{name}/versions/{version}")
def get_version(name: str, version: int, workspace: WorkspaceDep) -> Response:
    """One version by number."""
    return json_response(version_json(_records(workspace).get_version(name, version)))


@router.get("/datasets/{name}/latest")
def latest_version(
    name: str,
    workspace: WorkspaceDep,
    digest: Annotated[str | None, Query(description="the newest version with this manifest digest")] = None,
) -> Response:
    """The newest version (with ``digest``: the newest with that digest), or null."""
    records = _records(workspace)
    found = (
        records.find_latest_version(name) if digest is None else records.find_version_by_digest(name, digest)
    )
    return json_response(None if found is None else version_json(found))


@router.get("/dataset-digests")
def referenced_digests(workspace: WorkspaceDep) -> Response:
    """Every file digest any dataset version references."""
    return json_response(sorted(_records(workspace).referenced_digests()))
