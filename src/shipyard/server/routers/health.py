"""``/api/v1/health``: liveness, version and backend scheme (no token needed)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from shipyard._version import __version__
from shipyard.core.plugins import scheme_of
from shipyard.server.auth import WorkspaceDep
from shipyard.server.encoding import json_response

router = APIRouter(prefix="/api/v1", tags=["health"])


@router.get("/health")
async def health(workspace: WorkspaceDep) -> Response:
    """``{"status": "ok", "version", "backend"}``."""
    return json_response(
        {"status": "ok", "version": __version__, "backend": scheme_of(workspace.settings.uri)}
    )
