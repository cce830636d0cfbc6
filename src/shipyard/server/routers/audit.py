"""``/api/v1/audit``: read and verify the hash-chained audit log (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from shipyard.server.auth import WorkspaceDep, admin_only
from shipyard.server.encoding import event_json, json_response, report_json

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], dependencies=[admin_only])


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
