"""``/metrics``: Prometheus gauges of the monitors (drift, quality, performance, alerts).

Viewers may read it; when the server demands tokens, give Prometheus one
(``authorization: {credentials: <token>}`` in its scrape config). The names are in
:mod:`shipyard.monitoring.prometheus`.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from shipyard.server.auth import WorkspaceDep, viewer_only

router = APIRouter(tags=["metrics"], dependencies=[viewer_only])

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/metrics")
async def metrics(workspace: WorkspaceDep) -> Response:
    """The monitors' gauges in Prometheus's text format."""
    body = await run_in_threadpool(workspace.monitors.metrics_text)
    return Response(body, media_type=CONTENT_TYPE)
