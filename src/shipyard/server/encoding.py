"""JSON out of the server: orjson, and the wire shape of tracking and governance records.

JSON has no NaN, so non-finite floats travel as ``"NaN"``, ``"Infinity"`` and
``"-Infinity"`` (the REST stores decode them back).
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import orjson
from fastapi.responses import JSONResponse

from shipyard.governance.models import AuditEvent, ChainReport, Token
from shipyard.tracking.models import Artifact, Experiment, MetricHistory, RunRecord


class OrjsonResponse(JSONResponse):
    """A JSON response rendered by orjson (dataclasses and enums included)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def json_response(content: Any, status_code: int = 200) -> OrjsonResponse:
    """``content`` as a JSON response, skipping FastAPI's slower generic encoder."""
    return OrjsonResponse(content, status_code=status_code)


def float_json(value: float) -> float | str:
    """``value``, or its name when it is NaN or infinite."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def experiment_json(experiment: Experiment) -> dict[str, Any]:
    return asdict(experiment)


def run_json(run: RunRecord) -> dict[str, Any]:
    body = asdict(run)
    body["status"] = run.status.value
    body["metrics"] = {k: float_json(v) for k, v in run.metrics.items()}
    return body


def history_json(history: MetricHistory) -> dict[str, Any]:
    values: list[float] | list[float | str] = history.values
    if not all(math.isfinite(v) for v in history.values):
        values = [float_json(v) for v in history.values]
    return {"key": history.key, "steps": history.steps, "values": values, "timestamps": history.timestamps}


def artifact_json(artifact: Artifact) -> dict[str, Any]:
    return asdict(artifact)


def token_json(token: Token) -> dict[str, Any]:
    body = asdict(token)
    body["role"] = token.role.value
    return body


def event_json(event: AuditEvent) -> dict[str, Any]:
    return asdict(event)


def report_json(report: ChainReport) -> dict[str, Any]:
    return asdict(report)
