"""Serving's control plane on a Shipyard server, over ``/api/v1/deployments`` (remote mode).

:class:`RestServing` has the public methods of
:class:`~shipyard.serving.service.ServingService`, each one request, so the SDK, the CLI
and a data plane (``shipyard serve`` with ``SHIPYARD_URI=http(s)://...``) work unchanged
against a server, which checks every deploy and token.

The prediction logger runs here: it writes each segment's Parquet file to the server's
artifact store (``PUT /api/v1/blobs``) and then posts its index row. Feedback goes to
the server, which looks the request ids up in the segments it has; ids still pending in
this process's logger are flushed first. Batch scoring runs here too (the model is
fetched from the server's artifact store).
"""

from __future__ import annotations

import builtins
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from shipyard.client.http import HttpClient
from shipyard.core.errors import InvalidInputError
from shipyard.serving.feedback_items import check_items, to_ms
from shipyard.serving.models import (
    Batching,
    Deployment,
    DeploymentSpec,
    FeedbackResult,
    PredictionSegment,
    ResolvedRoute,
    Route,
    RouteStatus,
)
from shipyard.serving.prediction_log import Logged, PredictionLogger, segment_table
from shipyard.serving.prediction_query import to_frame

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from shipyard.models.service import ModelService
    from shipyard.registry.service import RegistryService
    from shipyard.serving.batch import BatchResult, Progress
    from shipyard.serving.specs import RouteArg
    from shipyard.storage.cas import ContentStore

API = "/api/v1/deployments"
PAGE = 1000
Time = datetime | int | str | None


class RestServing:
    """The serving control plane of the server at ``uri``. ``content`` (the server's artifact
    store), ``models`` and ``registry`` are the client's own, given as zero-argument callables."""

    def __init__(
        self,
        uri: str,
        token: str | None = None,
        timeout: float = 30.0,
        *,
        content: Callable[[], ContentStore],
        models: Callable[[], ModelService] | None = None,
        registry: Callable[[], RegistryService] | None = None,
        content_spec: Any = None,
    ) -> None:
        self.uri = uri
        self.http = HttpClient(uri, token=token, timeout=timeout)
        self._content, self._models, self._registry = content, models, registry
        self.content_spec = content_spec
        self._lock = threading.Lock()
        self._logger: PredictionLogger | None = None

    def __repr__(self) -> str:
        return f"RestServing({self.uri!r})"

    def close(self) -> None:
        with self._lock:
            logger, self._logger = self._logger, None
        if logger is not None:
            logger.close()
        self.http.close()

    # -- deployments ----------------------------------------------------------------
    def deploy(
        self,
        name: str,
        model: str | Route | None = None,
        canary: RouteArg = None,
        shadow: RouteArg = None,
        ab: RouteArg = None,
        features: str | None = None,
        batching: Batching | Mapping[str, Any] | None = None,
        routing_key: str | None = None,
        reason: str | None = None,
    ) -> DeploymentSpec:
        """As :meth:`ServingService.deploy`; Route objects travel as ``MODEL=W%`` (default names)."""
        body = {
            "model": model.model if isinstance(model, Route) else model,
            "canary": _routes(canary),
            "shadow": _routes(shadow),
            "ab": _routes(ab),
            "features": features,
            "batching": batching.to_dict() if isinstance(batching, Batching) else batching,
            "routing_key": routing_key,
            "reason": reason,
        }
        return DeploymentSpec.from_dict(self.http.request("PUT", _path(name), json=body))

    def get(self, name: str) -> Deployment:
        return Deployment.from_dict(self.http.request("GET", _path(name)))

    def list(self, limit: int = 1000, offset: int = 0) -> builtins.list[Deployment]:
        items: builtins.list[Deployment] = []
        while len(items) < limit:
            size = min(PAGE, limit - len(items))
            page = self.http.request("GET", API, params={"limit": size, "offset": offset + len(items)})
            items.extend(Deployment.from_dict(d) for d in page)
            if len(page) < size:
                break
        return items

    def history(self, name: str) -> builtins.list[DeploymentSpec]:
        return [DeploymentSpec.from_dict(s) for s in self.http.request("GET", _path(name, "/history"))]

    def set_weight(
        self, name: str, route: str, weight: float | str, reason: str | None = None
    ) -> DeploymentSpec:
        body = {"weight": weight, "reason": reason}
        found = self.http.request("PATCH", _path(name, f"/routes/{quote(route, safe='')}"), json=body)
        return DeploymentSpec.from_dict(found)

    def undeploy(self, name: str, reason: str | None = None) -> None:
        self.http.request("DELETE", _path(name), params={"reason": reason})

    def resolve(self, name: str) -> builtins.list[ResolvedRoute]:
        return [ResolvedRoute.from_dict(r) for r in self.http.request("GET", _path(name, "/resolve"))]

    def report_status(self, name: str, status: RouteStatus) -> None:
        self.http.request("POST", _path(name, "/status"), json=status.to_dict())

    # -- the prediction log ---------------------------------------------------------
    def prediction_logger(self, **options: Any) -> PredictionLogger:
        with self._lock:
            if self._logger is None or self._logger.closed:
                self._logger = PredictionLogger(self.write_segment, **options)
            return self._logger

    def write_segment(self, deployment: str, records: builtins.list[Logged]) -> None:
        """Upload ``records`` as one Parquet segment, then index it on the server."""
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        from shipyard.core.ids import new_id

        table = segment_table(records).replace_schema_metadata({"shipyard.prediction_log": "1"})
        with tempfile.TemporaryDirectory(prefix="shipyard-predictions-") as tmp:
            path = Path(tmp) / "segment.parquet"
            pq.write_table(table, path, compression="zstd")
            digest, _ = self._content().put_file(path)
        bounds = pc.min_max(table["ts_ms"]).as_py()
        body = {"id": new_id(), "digest": digest, "rows": table.num_rows, "min_ts": bounds["min"],
                "max_ts": bounds["max"]}  # fmt: skip
        self.http.request("POST", _path(deployment, "/segments"), json=body)

    def predictions_table(
        self, deployment: str, start: Time = None, end: Time = None, with_labels: bool = True
    ) -> pa.Table:
        import pyarrow as pa

        self._flush_own_log()
        params = {"start": _ms(start), "end": _ms(end), "with_labels": with_labels, "format": "arrow"}
        with self.http.stream(_path(deployment, "/predictions"), params=params) as chunks:
            data = b"".join(chunks)
        with pa.ipc.open_stream(data) as reader:
            table: pa.Table = reader.read_all()
        return table

    def predictions(
        self, deployment: str, start: Time = None, end: Time = None, with_labels: bool = True
    ) -> pd.DataFrame:
        return to_frame(self.predictions_table(deployment, start, end, with_labels))

    def _flush_own_log(self, request_ids: Sequence[str] | None = None) -> None:
        with self._lock:
            logger = self._logger
        if logger is None:
            return
        waiting = logger.stats().pending if request_ids is None else len(logger.pending(request_ids))
        if waiting:
            logger.flush()

    # -- feedback -------------------------------------------------------------------
    def record_feedback(
        self, items: Mapping[str, Any] | Sequence[Mapping[str, Any]], deployment: str | None = None
    ) -> FeedbackResult:
        if deployment is None:
            raise InvalidInputError(
                "with a server, say which deployment the feedback is for (deployment=...)"
            )
        checked = check_items(items)  # refused here, before anything travels
        self._flush_own_log([item.request_id for item in checked])
        body = [
            {"request_id": i.request_id, "label": i.label, **({} if i.ts is None else {"ts": i.ts})}
            for i in checked
        ]
        result: FeedbackResult = self.http.request("POST", _path(deployment, "/feedback"), json=body)
        return result

    # -- batch scoring --------------------------------------------------------------
    def predict_batch(
        self,
        model: str,
        input: str | Path,
        output: str | Path,
        *,
        executor: str = "local",
        chunk_size: int = 50_000,
        keep: Sequence[str] | None = None,
        progress: Progress | None = None,
        trust: bool = False,
    ) -> BatchResult:
        from shipyard.serving.batch import score_file

        if self._models is None or self._registry is None:
            raise InvalidInputError("batch scoring needs the model service and registry of a workspace")
        return score_file(
            self._models(),
            self._registry(),
            model,
            Path(input),
            Path(output),
            executor=executor,
            chunk_size=chunk_size,
            keep=keep,
            progress=progress,
            trust=trust,
            content_spec=self.content_spec,
        )

    def segment_digests(self) -> set[str]:
        raise InvalidInputError("gc needs direct access to the artifact store: run it on the server")

    def add_segment(self, segment: PredictionSegment) -> PredictionSegment:
        body = {k: v for k, v in segment.to_dict().items() if k != "deployment"}
        self.http.request("POST", _path(segment.deployment, "/segments"), json=body)
        return segment


def _path(name: str, tail: str = "") -> str:
    if not name:
        raise InvalidInputError("a deployment name cannot be empty")
    return f"{API}/{quote(name, safe='')}{tail}"


def _routes(value: RouteArg) -> str | builtins.list[str] | None:
    """Route arguments as the strings the server parses."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Route):
        value = [value]
    return [_route_text(v) for v in value]


def _route_text(route: str | Route) -> str:
    if isinstance(route, str):
        return route
    return route.model if route.shadow else f"{route.model}={route.weight:g}%"


def _ms(at: Time) -> int | None:
    return None if at is None else to_ms(at)
