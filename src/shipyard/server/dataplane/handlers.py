"""The ``/v1`` endpoints of the data plane, ``/healthz`` and ``/metrics``.

``POST /v1/deployments/{name}/predict``
    ``{"instances": [{col: value}, ...]}`` or ``{"inputs": {col: [values]}}``, optionally
    ``"return_proba": true`` -> ``{"predictions": [...], "model_version": "fraud:7",
    "request_id": "...", "route": "canary"}`` (and ``"probabilities"``).
``POST /v1/deployments/{name}/feedback``
    ``{"request_id": ..., "label": ...}`` or a list of them -> what the serving service
    stored (``{"accepted": n, "unknown": [ids]}``).

Errors answer ``{"error": {"code", "message", "details"}, "request_id"}``: 400 malformed,
413 too large, 422 not matching the model's signature (the columns named), 404 no such
deployment, 503 not loaded yet.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from shipyard.core.errors import ShipyardError
from shipyard.server.dataplane.inputs import RequestRejected, bad_request, parse_payload
from shipyard.server.dataplane.metrics import CONTENT_TYPE
from shipyard.server.dataplane.wire import (
    Call,
    error_body,
    error_response,
    json_response,
    read_json,
    request_id_of,
)
from shipyard.serving.routing import routing_key

if TYPE_CHECKING:
    from shipyard.server.dataplane.app import DataPlane

log = logging.getLogger("shipyard.serving.dataplane")


def plane_of(request: Request) -> DataPlane:
    plane: DataPlane = request.app.state.dataplane
    return plane


async def predict(plane: DataPlane, call: Call) -> None:
    """``POST /v1/deployments/{name}/predict`` (plain ASGI: see :class:`~.wire.Call`)."""
    started = time.perf_counter()
    name = call.path_params["name"]
    deployment = route = columns = None
    try:
        deployment = plane.deployment(name)
        body = await call.json(plane.max_body_bytes)
        key = routing_key(call.headers, body, deployment.routing_key)
        route = deployment.route_for(key)
        columns = parse_payload(body, route.target.plan.names)
        proba = body.get("return_proba") is True
        answer = await plane.inference.predict(deployment, columns, key, proba, route)
    except RequestRejected as exc:
        plane.metrics.error(name, exc.status)
        if deployment is not None:  # a failure of a served deployment goes to its prediction log
            plane.inference.record_failure(name, route, columns, call.request_id, started, exc)
        await call.answer(error_body(exc, call.request_id), exc.status)
        return
    plane.inference.record(name, answer, call.request_id, started)
    out: dict[str, Any] = {
        "predictions": answer.outcome.predictions,
        "model_version": answer.route.target.model_version,
        "route": answer.route.name,
        "request_id": call.request_id,
    }
    if answer.outcome.probabilities is not None:
        out["probabilities"] = answer.outcome.probabilities
    await call.answer(out)
    if deployment.shadows:  # after the answer is sent
        plane.inference.send_to_shadows(deployment, answer, call.request_id)


async def feedback(request: Request) -> Response:
    plane = plane_of(request)
    request_id = request_id_of(request)
    name = request.path_params["name"]
    try:
        body = await read_json(request, plane.max_body_bytes)
        items = _feedback_items(body)
        # Predictions answered moments ago may still be held on the loop: hand them to the
        # logger first, so their labels are not answered as unknown.
        plane.inference.hand_over()
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(plane.loader, plane.serving.record_feedback, items, name)
        except ShipyardError as exc:
            raise RequestRejected(exc.status, exc.message, exc.details) from exc
    except RequestRejected as exc:
        plane.metrics.error(name, exc.status)
        return error_response(exc, request_id)
    return json_response({**dict(result), "request_id": request_id}, request_id)


def _feedback_items(body: Any) -> list[dict[str, Any]]:
    items = body if isinstance(body, list) else [body]
    if not items:
        raise bad_request('send at least one {"request_id": ..., "label": ...}')
    for item in items:
        if not isinstance(item, dict) or "request_id" not in item or "label" not in item:
            raise bad_request('feedback is {"request_id": ..., "label": ...} or a list of them')
    return items


async def healthz(request: Request) -> Response:
    plane = plane_of(request)
    request_id = request_id_of(request)
    deployments = {
        name: {
            "spec_version": snap.spec_version,
            "routes": [
                {"route": r.name, "mode": r.mode, "weight": r.weight, "model_version": r.target.model_version}
                for r in (*snap.routes, *snap.shadows)
            ],
        }
        for name, snap in sorted(plane.live.snapshots.items())
    }
    body = {"status": "ok", "deployments": deployments, "errors": dict(plane.live.errors)}
    return json_response(body, request_id)


async def metrics(request: Request) -> Response:
    plane = plane_of(request)
    logger = plane.inference.logger
    if logger is not None:
        plane.metrics.log_dropped.set(logger.stats().dropped)
    return Response(plane.metrics.render(), media_type=CONTENT_TYPE)
