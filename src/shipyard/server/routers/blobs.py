"""``/api/v1/blobs/{digest}``: content-addressed upload, existence check and download;
and the content of a run's artifact by its logical path.

An upload is hashed as it streams in and refused with 400 when it does not hash
to the digest in the URL, before anything is stored. Downloads are read through
the content store, which verifies the digest, before they are sent.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from blake3 import blake3
from fastapi import APIRouter, Query, Request
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response

from shipyard.core.errors import InvalidInputError, NotFoundError
from shipyard.server.auth import WorkspaceDep, by_method
from shipyard.server.encoding import json_response
from shipyard.storage.digests import PREFIX, check_digest
from shipyard.storage.paths import check_artifact_path
from shipyard.workspace import Workspace

router = APIRouter(prefix="/api/v1", tags=["blobs"], dependencies=[by_method])


@router.put("/blobs/{digest}", status_code=201)
async def put_blob(digest: str, request: Request, workspace: WorkspaceDep) -> Response:
    """Store the request body under ``digest`` (400 if the body hashes to something else)."""
    check_digest(digest)
    fd, name = tempfile.mkstemp(prefix="shipyard-upload-")
    tmp = Path(name)
    try:
        hasher, size = blake3(), 0
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                hasher.update(chunk)
                out.write(chunk)
                size += len(chunk)
        actual = PREFIX + hasher.hexdigest()
        if actual != digest:
            raise InvalidInputError(
                f"the uploaded content hashes to {actual}, not {digest}: it was changed or cut on the way; "
                "upload it again",
                details={"expected": digest, "actual": actual},
            )
        await run_in_threadpool(workspace.content.put_file, tmp)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return json_response({"digest": digest, "size": size}, 201)


@router.head("/blobs/{digest}")
def head_blob(digest: str, workspace: WorkspaceDep) -> Response:
    """200 with the size when the content is stored, else 404."""
    content = workspace.content
    if not content.exists(check_digest(digest)):
        raise NotFoundError(f"no content with digest {digest}")
    return Response(status_code=200, headers={"content-length": str(content.size(digest))})


@router.get("/blobs/{digest}")
def get_blob(digest: str, workspace: WorkspaceDep) -> Response:
    """The content of ``digest``, verified before it is sent."""
    return blob_response(workspace, check_digest(digest))


@router.get("/runs/{run_id}/artifact")
def get_run_artifact(
    run_id: str, path: Annotated[str, Query(description="logical path")], workspace: WorkspaceDep
) -> Response:
    """The content of the run's artifact at logical ``path`` (400 for a path that could escape)."""
    return _artifact_response(workspace, run_id, path)


@router.get("/runs/{run_id}/artifacts/{path:path}")
def get_run_artifact_by_url(run_id: str, path: str, workspace: WorkspaceDep) -> Response:
    """Same as ``/runs/{run_id}/artifact?path=...``, with the logical path in the URL."""
    return _artifact_response(workspace, run_id, path)


def _artifact_response(workspace: Workspace, run_id: str, path: str) -> Response:
    logical = check_artifact_path(path)
    for artifact in workspace.tracking.list_artifacts(run_id):
        if artifact.path == logical:
            return blob_response(workspace, artifact.digest)
    raise NotFoundError(f"run {run_id} has no artifact at {logical!r}")


def blob_response(workspace: Workspace, digest: str) -> Response:
    """Copy the verified content to a temporary file and send it; the file goes afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="shipyard-download-"))
    try:
        workspace.content.get_file(digest, folder / "blob")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        folder / "blob",
        media_type="application/octet-stream",
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )
