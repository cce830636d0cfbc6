"""``/api/v1/features``: the feature registry for remote SDKs, and online feature serving.

``POST /api/v1/features/online`` takes ``{"entity_rows": [{...}], "features": ["view:feature", ...]}``
(or ``"service": "name"`` instead of ``features``; ``"full_feature_names": true`` to name
columns ``view__feature``) and answers ``{"columns": {name: [values]}}``. It is a read:
the ``viewer`` role is enough. It is served by :class:`OnlineRead`, a bare ASGI app the
server calls ahead of FastAPI's layers, and the body is parsed by hand (no model
validation), to keep a read well under a millisecond; a malformed body is a 400 naming
what is wrong.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from shipyard.core.actors import current_actor
from shipyard.core.errors import InvalidInputError
from shipyard.features.models import Definition, Watermark
from shipyard.features.remote import MAX_LISTED, FeatureRecords
from shipyard.features.store.rest import definition_json
from shipyard.governance.models import Role, Token
from shipyard.server.auth import WorkspaceDep, by_method, require, viewer_only
from shipyard.server.encoding import json_response
from shipyard.server.fastpath import error_response
from shipyard.workspace import Workspace

router = APIRouter(prefix="/api/v1/features", tags=["features"], dependencies=[by_method])
online_router = APIRouter(prefix="/api/v1/features", tags=["features"], dependencies=[viewer_only])
Caller = Annotated[Token | None, by_method]
Limit = Annotated[int, Query(ge=1, le=MAX_LISTED)]
Offset = Annotated[int, Query(ge=0)]
ONLINE_PATH = "/api/v1/features/online"


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class DefinitionIn(Strict):
    """A new version: the fields of a ``Definition`` (its number is chosen by the store)."""

    id: str
    kind: str
    name: str
    version: int = 0
    digest: str
    spec: dict[str, Any]
    created_at: int = Field(ge=0)
    created_by: str = ""
    expected_version: int | None = Field(default=None, ge=0)


class WatermarkIn(Strict):
    view: str
    version: int = Field(ge=1)
    end_ms: int
    start_ms: int | None = None
    rows: int = Field(default=0, ge=0)
    updated_at: int = 0
    updated_by: str = ""


@router.post("/definitions", status_code=201)
def create_definition(body: DefinitionIn, workspace: WorkspaceDep, caller: Caller) -> Response:
    """Record a new version (201), or return the latest when it has the same digest (200)."""
    draft = Definition(
        id=body.id,
        kind=body.kind,
        name=body.name,
        version=0,
        digest=body.digest,
        spec=body.spec,
        created_at=body.created_at,
        created_by=body.created_by if caller is None else caller.name,
    )
    stored, created = FeatureRecords(workspace.features).create_definition(
        draft, body.expected_version, current_actor()
    )
    return json_response(definition_json(stored), 201 if created else 200)


@router.get("/definitions")
def list_definitions(
    workspace: WorkspaceDep, kind: str | None = None, limit: Limit = 1000, offset: Offset = 0
) -> Response:
    """The latest version of every definition (of ``kind``), by kind then name."""
    found = FeatureRecords(workspace.features).list_definitions(kind, limit, offset)
    return json_response([definition_json(d) for d in found])


@router.get("/definitions/{kind}/{name}/versions")
def list_versions(kind: str, name: str, workspace: WorkspaceDep) -> Response:
    """Every version, oldest first (404 when there is none)."""
    return json_response(
        [definition_json(d) for d in FeatureRecords(workspace.features).list_versions(kind, name)]
    )


@router.get("/definitions/{kind}/{name}/versions/{version}")
def get_definition(kind: str, name: str, version: int, workspace: WorkspaceDep) -> Response:
    return json_response(
        definition_json(FeatureRecords(workspace.features).get_definition(kind, name, version))
    )


@router.get("/definitions/{kind}/{name}/latest")
def latest_definition(kind: str, name: str, workspace: WorkspaceDep) -> Response:
    """The latest version, or null."""
    found = FeatureRecords(workspace.features).find_latest(kind, name)
    return json_response(None if found is None else definition_json(found))


@router.get("/watermarks")
def list_watermarks(workspace: WorkspaceDep) -> Response:
    return json_response(
        [dataclasses.asdict(w) for w in FeatureRecords(workspace.features).list_watermarks()]
    )


@router.get("/watermarks/{view}")
def find_watermark(view: str, workspace: WorkspaceDep) -> Response:
    found = FeatureRecords(workspace.features).find_watermark(view)
    return json_response(None if found is None else dataclasses.asdict(found))


@router.put("/watermarks/{view}")
def set_watermark(view: str, body: WatermarkIn, workspace: WorkspaceDep) -> Response:
    if body.view != view:
        raise InvalidInputError(f"the body is the watermark of {body.view!r}, not of {view!r}")
    FeatureRecords(workspace.features).set_watermark(Watermark(**body.model_dump()))
    return json_response({"view": view})


@online_router.post("/online")
async def online(request: Request, workspace: WorkspaceDep) -> Response:
    """Online features of the entity rows: ``{"columns": {name: [values]}}``.

    Documented here; served by :data:`online_read` (see ``create_app``).
    """
    return Response(_online(workspace, await request.body()), media_type="application/json")


class OnlineRead:
    """``POST /api/v1/features/online`` as a bare ASGI app: the viewer check, the read, orjson out.

    ``create_app`` puts it in the app's fast routes (answered before FastAPI's layers, see
    :mod:`shipyard.server.fastpath`) and first among its routes (for when the fast path
    stands aside). Errors are answered by the app's exception handlers, as on any route.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            request = Request(scope, receive)
            await _viewer(request)
            answer = _online(scope["app"].state.workspace, await request.body())
        except ClientDisconnect:
            return
        except Exception as exc:
            response = await error_response(scope, exc)
            await response(scope, receive, send)
            return
        length = (b"content-length", str(len(answer)).encode())
        await send({"type": "http.response.start", "status": 200, "headers": [*_JSON, length]})
        await send({"type": "http.response.body", "body": answer})


_JSON = [(b"content-type", b"application/json")]
_viewer = require(Role.VIEWER)
online_read = OnlineRead()
online_route = Route(ONLINE_PATH, online_read, methods=["POST"])


def _online(workspace: Workspace, raw: bytes) -> bytes:
    body = _online_body(raw)
    columns = workspace.features.online(
        body["entity_rows"],
        body.get("features"),
        service=body.get("service"),
        full_feature_names=bool(body.get("full_feature_names", False)),
    )
    return orjson.dumps({"columns": columns})


def _online_body(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInputError(f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise InvalidInputError('send a JSON object: {"entity_rows": [...], "features": [...]}')
    unknown = set(body) - {"entity_rows", "features", "service", "full_feature_names"}
    if unknown:
        raise InvalidInputError(f"unknown field {sorted(unknown)[0]!r} in the body")
    rows = body.get("entity_rows")
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise InvalidInputError("entity_rows must be a non-empty list of {join key: value} objects")
    features, service = body.get("features"), body.get("service")
    if (features is None) == (service is None):
        raise InvalidInputError('send either "features": ["view:feature", ...] or "service": "name"')
    if features is not None and (
        not isinstance(features, list) or not all(isinstance(f, str) for f in features)
    ):
        raise InvalidInputError('"features" must be a list of "view:feature" strings')
    if service is not None and not isinstance(service, str):
        raise InvalidInputError('"service" must be the name of a feature service')
    return body
