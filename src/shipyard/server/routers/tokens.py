"""``/api/v1/tokens`` and ``/api/v1/users``: users, and issuing, recording, looking up,
revoking and touching bearer tokens (admin).

``POST /tokens`` issues a token whose secret the server makes and shows once;
``POST /tokens/records`` stores a token whose secret the client made, from its
hash only (what ``RestAuthStore`` and a remote ``shipyard tokens create`` send).
Every change goes through ``AuthService`` and is audited with the caller as actor.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from shipyard.core.actors import current_actor
from shipyard.server.auth import WorkspaceDep, admin_only
from shipyard.server.encoding import json_response, token_json

router = APIRouter(prefix="/api/v1", tags=["tokens"], dependencies=[admin_only])


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class TokenIn(Strict):
    name: str
    role: str


class TokenRecordIn(Strict):
    """A token made by the client: its id and the SHA-256 (hex) of its secret."""

    id: str
    name: str
    role: str
    secret_hash: str
    created_at: int | None = Field(default=None, ge=0)


class FindTokenIn(Strict):
    secret_hash: str


class AtIn(Strict):
    """When it happened (ms since the epoch); the server's time when left out."""

    at: int | None = Field(default=None, ge=0)


class UserIn(Strict):
    name: str
    role: str
    created_at: int | None = Field(default=None, ge=0)


@router.post("/tokens", status_code=201)
def create_token(body: TokenIn, workspace: WorkspaceDep) -> Response:
    """Issue a token for user ``name`` (created if new); the answer holds its secret, shown once."""
    token, secret = workspace.auth.create_token(body.name, body.role, actor=current_actor())
    return json_response({"token": token_json(token), "secret": secret}, 201)


@router.post("/tokens/records", status_code=201)
def record_token(body: TokenRecordIn, workspace: WorkspaceDep) -> Response:
    """Store a token from its secret's hash (404 unknown user, 409 taken id or hash, or role too high)."""
    token = workspace.auth.register_token(
        body.id, body.name, body.role, body.secret_hash, created_at=body.created_at, actor=current_actor()
    )
    return json_response(token_json(token), 201)


@router.post("/tokens/find")
def find_token(body: FindTokenIn, workspace: WorkspaceDep) -> Response:
    """The token (revoked or not) whose secret has this hash, or null."""
    found = workspace.auth.find_token_by_hash(body.secret_hash)
    return json_response(None if found is None else token_json(found))


@router.get("/tokens")
def list_tokens(workspace: WorkspaceDep, include_revoked: Annotated[bool, Query()] = False) -> Response:
    """Tokens in creation order, never their secrets."""
    return json_response([token_json(t) for t in workspace.auth.list_tokens(include_revoked=include_revoked)])


@router.post("/tokens/{token_id}/revoke")
def revoke_token(token_id: str, workspace: WorkspaceDep, body: AtIn | None = None) -> Response:
    """Revoke a token (404 if unknown); revoking it again changes nothing."""
    at = None if body is None else body.at
    return json_response(token_json(workspace.auth.revoke_token(token_id, actor=current_actor(), at=at)))


@router.post("/tokens/{token_id}/touch", status_code=204)
def touch_token(token_id: str, workspace: WorkspaceDep, body: AtIn | None = None) -> Response:
    """Set the token's ``last_used_at`` (404 if unknown)."""
    workspace.auth.touch_token(token_id, at=None if body is None else body.at)
    return Response(status_code=204)


@router.post("/users", status_code=201)
def create_user(body: UserIn, workspace: WorkspaceDep) -> Response:
    """Add a user (409 ``already_exists`` if the name is taken)."""
    name, role = workspace.auth.create_user(
        body.name, body.role, created_at=body.created_at, actor=current_actor()
    )
    return json_response({"name": name, "role": role.value}, 201)


@router.get("/users")
def list_users(workspace: WorkspaceDep) -> Response:
    """Users and their roles, by name."""
    return json_response([{"name": name, "role": role.value} for name, role in workspace.auth.list_users()])


@router.get("/users/{name:path}")
def get_user(name: str, workspace: WorkspaceDep) -> Response:
    """One user and its role (404 if unknown)."""
    found, role = workspace.auth.get_user(name)
    return json_response({"name": found, "role": role.value})
