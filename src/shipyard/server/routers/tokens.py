"""``/api/v1/tokens`` and ``/api/v1/users``: issue, list, look up and revoke bearer tokens (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from shipyard.core.actors import current_actor
from shipyard.server.auth import WorkspaceDep, admin_only
from shipyard.server.encoding import json_response, token_json

router = APIRouter(prefix="/api/v1", tags=["tokens"], dependencies=[admin_only])


class TokenIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    name: str
    role: str


@router.post("/tokens", status_code=201)
def create_token(body: TokenIn, workspace: WorkspaceDep) -> Response:
    """Issue a token for user ``name`` (created if new); the answer holds its secret, shown once."""
    token, secret = workspace.auth.create_token(body.name, body.role, actor=current_actor())
    return json_response({"token": token_json(token), "secret": secret}, 201)


@router.get("/tokens")
def list_tokens(workspace: WorkspaceDep, include_revoked: Annotated[bool, Query()] = False) -> Response:
    """Tokens in creation order, never their secrets."""
    return json_response([token_json(t) for t in workspace.auth.list_tokens(include_revoked=include_revoked)])


@router.post("/tokens/{token_id}/revoke")
def revoke_token(token_id: str, workspace: WorkspaceDep) -> Response:
    """Revoke a token (404 if unknown); revoking it again changes nothing."""
    return json_response(token_json(workspace.auth.revoke_token(token_id, actor=current_actor())))


@router.get("/users")
def list_users(workspace: WorkspaceDep) -> Response:
    """Users and their roles, by name."""
    return json_response([{"name": name, "role": role.value} for name, role in workspace.auth.list_users()])
