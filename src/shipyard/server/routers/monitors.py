"""``/api/v1/monitors`` and ``/api/v1/alerts``: monitors of deployments over REST.

Every route calls the workspace's :class:`~shipyard.monitoring.monitors.MonitorService`,
so a spec is checked here exactly as it is embedded; checks and actions arrive as they
are stored (``{kind, name, params}``) and are made again by their ``sy.checks`` /
``sy.actions`` builder, so a limit out of range or a tampered parameter is refused with
400 naming it. Reads need ``viewer``; creating and running need ``editor``. Monitors are
sent with the secrets of their actions redacted (a webhook keeps scheme and host).

- ``GET /monitors``: the latest version of each;
- ``PUT /monitors/{name}`` ``{deployment, reference, window, checks, actions, cooldown_ms}``:
  201 with a new version, 200 with the latest when the spec is unchanged;
- ``GET /monitors/{name}?version=``, ``GET /monitors/{name}/results?limit=``;
- ``POST /monitors/{name}/run`` ``{"now": ms?}``: evaluate the current window now (201);
- ``GET /monitors/{name}/report``: the HTML report;
- ``GET /alerts?monitor=&state=&limit=``, ``GET /alerts/prometheus-rules?for=5m``.

The embedded service has no delete or disable of a monitor, so neither has the API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from shipyard.core.errors import NotFoundError
from shipyard.monitoring.monitor_models import MonitorResult, check_name
from shipyard.server.auth import WorkspaceDep, by_method
from shipyard.server.encoding import json_response

router = APIRouter(prefix="/api/v1", tags=["monitoring"], dependencies=[by_method])
MAX_LISTED = 10_000


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class CheckIn(Strict):
    """A check as :meth:`CheckSpec.to_dict` writes it."""

    kind: str
    name: str = ""
    params: dict[str, Any] = Field(default_factory=dict)


class ActionIn(Strict):
    """An action as :meth:`ActionSpec.to_dict` writes it (secrets as given: the server keeps them)."""

    kind: str
    params: dict[str, Any] = Field(default_factory=dict)


class MonitorIn(Strict):
    """What ``sy.monitor`` takes; ``reference`` a dataset ref or ``content:<digest>`` (an upload)."""

    deployment: str
    reference: str | None = None
    window: str | int = "1h"
    checks: list[CheckIn] = Field(default_factory=list)
    actions: list[ActionIn] = Field(default_factory=list)
    cooldown_ms: int = Field(default=3_600_000, ge=0)


class RunIn(Strict):
    now: int | None = Field(default=None, ge=0, description="ms since the epoch; default: now")


@router.get("/monitors")
def list_monitors(workspace: WorkspaceDep) -> Response:
    """The latest version of every monitor, by name."""
    return json_response([m.to_dict() for m in workspace.monitors.list()])


@router.put("/monitors/{name}")
def create_monitor(name: str, body: MonitorIn, workspace: WorkspaceDep) -> Response:
    """Create the monitor, or version it when its spec changed (201); 200 when it did not."""
    from shipyard.monitoring.actions import checked_action
    from shipyard.monitoring.checks import checked_check

    check_name(name)
    checks = [checked_check(c.model_dump()) for c in body.checks]
    actions = [checked_action(a.model_dump()) for a in body.actions]
    service = workspace.monitors
    try:
        before = service.get(name).version
    except NotFoundError:
        before = 0
    monitor = service.create(
        name, body.deployment, body.reference, body.window, checks, actions, body.cooldown_ms
    )
    return json_response(monitor.to_dict(), 201 if monitor.version > before else 200)


@router.get("/monitors/{name}")
def get_monitor(
    name: str, workspace: WorkspaceDep, version: Annotated[int | None, Query(ge=1)] = None
) -> Response:
    """The latest (or given) version of the monitor."""
    return json_response(workspace.monitors.get(name, version).to_dict())


@router.get("/monitors/{name}/results")
def list_results(
    name: str, workspace: WorkspaceDep, limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 100
) -> Response:
    """Results of the monitor, newest first."""
    return _results(workspace.monitors.results(name, limit))


@router.post("/monitors/{name}/run", status_code=201)
async def run_monitor(name: str, workspace: WorkspaceDep, body: RunIn | None = None) -> Response:
    """Evaluate the monitor's current window now and store the result (actions included)."""
    now = None if body is None else body.now
    result = await run_in_threadpool(workspace.monitors.run, name, now)
    return Response(result.to_json(), status_code=201, media_type="application/json")


@router.get("/monitors/{name}/report")
async def report(
    name: str, workspace: WorkspaceDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> Response:
    """The HTML report: reference and current histograms per feature, performance over time."""
    html = await run_in_threadpool(workspace.monitors.report_html, name, limit)
    return Response(html, media_type="text/html; charset=utf-8")


@router.get("/alerts")
def list_alerts(
    workspace: WorkspaceDep,
    monitor: str | None = None,
    state: Annotated[str | None, Query(description="firing or resolved")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 100,
) -> Response:
    """Alerts (of one monitor, in one state), newest fired first."""
    return json_response([a.to_dict() for a in workspace.monitors.alerts(monitor, state, limit)])


@router.get("/alerts/prometheus-rules")
def prometheus_rules(
    workspace: WorkspaceDep, for_: Annotated[str, Query(alias="for", max_length=32)] = "5m"
) -> Response:
    """A Prometheus alert-rules document for every monitor's checks."""
    return json_response(workspace.monitors.alert_rules(for_))


def _results(results: list[MonitorResult]) -> Response:
    body = b"[" + b",".join(r.to_json() for r in results) + b"]"
    return Response(body, media_type="application/json")
