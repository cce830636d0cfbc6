"""Tracking on a Shipyard server, over ``/api/v1/...`` (``SHIPYARD_URI=http(s)://host:port``).

Every method is one request. Errors come back as the same exception classes the
SQL store raises (the server maps them to HTTP and the client rebuilds them).
JSON has no NaN, so non-finite metric values travel as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"``, both ways.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from shipyard.client.http import HttpClient
from shipyard.core.errors import NotFoundError
from shipyard.tracking.filter_codec import expr_to_json, order_by_to_json
from shipyard.tracking.filters import Expr, OrderBy
from shipyard.tracking.models import Artifact, Experiment, MetricHistory, RunInput, RunRecord, RunStatus
from shipyard.tracking.store.base import MetricRow, TrackingStore

API = "/api/v1"
_DECODE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def encode_float(value: float) -> float | str:
    """``value``, or its name when JSON cannot carry it.

    >>> encode_float(1.5), encode_float(float("nan")), encode_float(float("-inf"))
    (1.5, 'NaN', '-Infinity')
    """
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def decode_float(value: float | int | str) -> float:
    """The inverse of :func:`encode_float`."""
    return _DECODE[value] if isinstance(value, str) else float(value)


class RestTrackingStore(TrackingStore):
    """A :class:`TrackingStore` whose data lives on a Shipyard server."""

    def __init__(self, uri: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.uri = uri
        self.http = HttpClient(uri, token=token, timeout=timeout)

    def __repr__(self) -> str:
        return f"RestTrackingStore({self.uri!r})"

    # -- experiments ---------------------------------------------------------------
    def create_experiment(
        self, experiment_id: str, name: str, created_at: int, tags: Mapping[str, str] | None = None
    ) -> Experiment:
        body = {"id": experiment_id, "name": name, "created_at": created_at, "tags": dict(tags or {})}
        return _experiment(self.http.request("POST", f"{API}/experiments", json=body))

    def get_experiment(self, experiment_id: str) -> Experiment:
        return _experiment(self.http.request("GET", f"{API}/experiments/{_seg(experiment_id)}"))

    def find_experiment_by_name(self, name: str) -> Experiment | None:
        found = self.http.request("GET", f"{API}/experiments", params={"name": name})
        return _experiment(found[0]) if found else None

    def list_experiments(self, limit: int = 1000, offset: int = 0) -> list[Experiment]:
        found = self.http.request("GET", f"{API}/experiments", params={"limit": limit, "offset": offset})
        return [_experiment(e) for e in found]

    # -- runs ----------------------------------------------------------------------
    def create_run(
        self,
        run_id: str,
        experiment_id: str,
        name: str,
        start_time: int,
        tags: Mapping[str, str] | None = None,
        lineage: Mapping[str, Any] | None = None,
    ) -> RunRecord:
        body = {
            "id": run_id,
            "experiment_id": experiment_id,
            "name": name,
            "start_time": start_time,
            "tags": dict(tags or {}),
            "lineage": dict(lineage or {}),
        }
        return _run(self.http.request("POST", f"{API}/runs", json=body))

    def get_run(self, run_id: str) -> RunRecord:
        return _run(self.http.request("GET", self._run_path(run_id)))

    def set_run_status(
        self, run_id: str, status: RunStatus, end_time: int | None = None, error: str | None = None
    ) -> RunRecord:
        body = {"status": RunStatus(status).value, "end_time": end_time, "error": error}
        return _run(self.http.request("POST", self._run_path(run_id, "/end"), json=body))

    def heartbeat(self, run_id: str, at: int) -> None:
        self.http.request("POST", self._run_path(run_id, "/heartbeat"), json={"at": at})

    def find_stale_runs(self, heartbeat_before: int) -> list[RunRecord]:
        found = self.http.request("GET", f"{API}/runs/stale", params={"heartbeat_before": heartbeat_before})
        return [_run(r) for r in found]

    # -- params, tags, metrics -----------------------------------------------------
    def log_params(self, run_id: str, params: Mapping[str, str]) -> None:
        self.http.request("POST", self._run_path(run_id, "/params"), json={"params": dict(params)})

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        self.http.request("POST", self._run_path(run_id, "/tags"), json={"tags": dict(tags)})

    def log_metrics(self, run_id: str, metrics: Sequence[MetricRow]) -> None:
        if not metrics:
            return
        rows = [(k, v if math.isfinite(v) else encode_float(v), s, t) for k, v, s, t in metrics]
        self.http.request("POST", self._run_path(run_id, "/metrics"), json={"metrics": rows})

    def get_metric_history(self, run_id: str, key: str) -> MetricHistory:
        body = self.http.request("GET", self._run_path(run_id, "/metrics/history"), params={"key": key})
        return MetricHistory(
            body["key"], body["steps"], [decode_float(v) for v in body["values"]], body["timestamps"]
        )

    # -- search --------------------------------------------------------------------
    def search_runs(
        self,
        experiment_ids: Sequence[str] | None,
        filter: Expr | None,
        order_by: Sequence[OrderBy],
        max_results: int = 1000,
        offset: int = 0,
    ) -> list[RunRecord]:
        body = {
            "experiment_ids": None if experiment_ids is None else list(experiment_ids),
            "filter": expr_to_json(filter),
            "order_by": order_by_to_json(order_by),
            "max_results": max_results,
            "offset": offset,
        }
        return [_run(r) for r in self.http.request("POST", f"{API}/runs/search", json=body)]

    # -- artifacts -----------------------------------------------------------------
    def log_artifacts(self, run_id: str, artifacts: Sequence[Artifact]) -> None:
        records = [{"path": a.path, "digest": a.digest, "size": a.size} for a in artifacts]
        self.http.request("POST", self._run_path(run_id, "/artifacts"), json={"artifacts": records})

    def list_artifacts(self, run_id: str) -> list[Artifact]:
        found = self.http.request("GET", self._run_path(run_id, "/artifacts"))
        return [Artifact(a["path"], a["digest"], a["size"]) for a in found]

    def artifact_digests(self) -> set[str]:
        return set(self.http.request("GET", f"{API}/runs/artifact-digests"))

    def log_inputs(self, run_id: str, inputs: Sequence[RunInput]) -> None:
        body = [
            {
                "kind": i.kind,
                "ref": i.ref,
                "digest": i.digest,
                "context": i.context,
                "created_at": i.created_at,
            }
            for i in inputs
        ]
        self.http.request("POST", self._run_path(run_id, "/inputs"), json={"inputs": body})

    def list_inputs(self, run_id: str) -> list[RunInput]:
        found = self.http.request("GET", self._run_path(run_id, "/inputs"))
        return [RunInput(i["kind"], i["ref"], i["digest"], i["context"], i["created_at"]) for i in found]

    def close(self) -> None:
        self.http.close()

    def _run_path(self, run_id: str, tail: str = "") -> str:
        return f"{API}/runs/{_seg(run_id)}{tail}"


def _seg(value: str) -> str:
    """``value`` as one path segment; an empty id cannot name anything."""
    if not value:
        raise NotFoundError(f"{value!r} not found: an id cannot be empty")
    return quote(value, safe="")


def _experiment(body: dict[str, Any]) -> Experiment:
    return Experiment(body["id"], body["name"], body["created_at"], body.get("tags") or {})


def _run(body: dict[str, Any]) -> RunRecord:
    return RunRecord(
        id=body["id"],
        experiment_id=body["experiment_id"],
        name=body["name"],
        status=RunStatus(body["status"]),
        start_time=body["start_time"],
        end_time=body.get("end_time"),
        heartbeat_at=body.get("heartbeat_at"),
        error=body.get("error"),
        lineage=body.get("lineage") or {},
        params=body.get("params") or {},
        tags=body.get("tags") or {},
        metrics={k: decode_float(v) for k, v in (body.get("metrics") or {}).items()},
    )
