"""``/api/v1/audit``: read, verify and append to the hash-chained audit log (admin).

An appended event is recorded as the caller's token user at the server's time;
the ``actor`` and ``time`` in the body are kept only for an anonymous caller,
which exists only on a loopback server without ``--auth``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from shipyard.server.auth import AdminToken, WorkspaceDep, admin_only
from shipyard.server.encoding import event_json, json_response, report_json

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], dependencies=[admin_only])


class EventIn(BaseModel):
    """An event to append; ``payload_digest`` is ``sha256:`` + the hex SHA-256 of its payload."""

    model_config = ConfigDict(strict=True, extra="forbid")
    actor: str
    action: str
    target: str
    payload_digest: str
    time: int | None = Field(default=None, ge=0)


@router.post("/events", status_code=201)
def append_event(body: EventIn, workspace: WorkspaceDep, token: AdminToken) -> Response:
    """Append one event and return it (with its seq and hashes)."""
    if token is None:  # anonymous: a loopback server without --auth trusts its caller
        actor, time = body.actor, body.time
    else:
        actor, time = token.name, None
    event = workspace.audit.record_digest(actor, body.action, body.target, body.payload_digest, time=time)
    return json_response(event_json(event), 201)


@router.get("/events")
def list_events(
    workspace: WorkspaceDep,
    after_seq: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Response:
    """Events with ``seq > after_seq`` in seq order."""
    return json_response([event_json(e) for e in workspace.audit.list_events(after_seq, limit)])


@router.get("/events/last")
def last_event(workspace: WorkspaceDep) -> Response:
    """The newest event, or null when the log is empty."""
    head = workspace.audit.head()
    if head is None:
        return json_response(None)
    return json_response(event_json(workspace.audit.list_events(after_seq=head[0] - 1, limit=1)[0]))


@router.get("/verify")
def verify(workspace: WorkspaceDep) -> Response:
    """Walk the whole chain and report the first broken link."""
    return json_response(report_json(workspace.audit.verify()))
