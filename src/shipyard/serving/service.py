"""Use cases of serving's control plane: deployments, routes, the prediction log, feedback.

The SDK, the CLI, the REST API and the data plane (``shipyard serve``) all go through
:class:`ServingService`, so one set of rules holds everywhere:

- a deploy is checked whole (route syntax, weights summing to 100, every model and
  alias known to the registry, the feature service defined) before a new version of the
  spec is written; deploying what is already deployed writes nothing;
- :meth:`ServingService.resolve` asks the registry on every call, so a route that names
  an alias follows promotions and rollbacks;
- predictions are logged through :meth:`ServingService.prediction_logger` (never
  blocking a request) and read back, joined with late feedback labels, by
  :meth:`ServingService.predictions`.
"""

from __future__ import annotations

import builtins
import dataclasses
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core.actors import current_actor
from shipyard.core.clock import now_ms
from shipyard.core.errors import ConflictError, InvalidInputError, NotFoundError
from shipyard.core.ids import new_id
from shipyard.serving.feedback_items import check_items, to_ms
from shipyard.serving.models import (
    ROUTE_STATES,
    Batching,
    Deployment,
    DeploymentSpec,
    FeedbackResult,
    Label,
    PredictionSegment,
    ResolvedRoute,
    Route,
    RouteStatus,
)
from shipyard.serving.prediction_log import Logged, PredictionLogger, segment_table
from shipyard.serving.prediction_query import SegmentFiles, find_request_ids, query_table, to_frame
from shipyard.serving.specs import (
    RouteArg,
    build_routes,
    check_batching,
    check_deployment_name,
    check_field,
    check_routes,
    reweight,
)
from shipyard.serving.store.base import ServingStore

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from shipyard.features.service import FeaturesService
    from shipyard.governance.service import AuditService
    from shipyard.models.service import ModelService
    from shipyard.registry.service import RegistryService
    from shipyard.serving.batch import BatchResult, Progress
    from shipyard.storage.cas import ContentStore

MAX_ATTEMPTS = 20  # compare-and-set retries of a weight change racing other changes
Time = datetime | int | str | None


DICTIONARY_COLUMNS = ["deployment", "route", "model_version", "shadow", "status", "error"]


class ServingService:
    """Deployments and their versioned specs, route statuses, the prediction log and feedback.

    Each collaborator may be given as an instance or as a zero-argument callable that
    builds it on first use. ``registry`` resolves model references; ``content`` holds the
    log's Parquet segments (read through ``cache_dir`` when not a local folder);
    ``features`` (optional) checks that a deployment's feature service exists; ``models``
    and ``content_spec`` are for batch scoring; ``audit`` records every change.
    """

    def __init__(
        self,
        store: ServingStore | Callable[[], ServingStore],
        *,
        registry: RegistryService | Callable[[], RegistryService],
        content: ContentStore | Callable[[], ContentStore],
        cache_dir: Path,
        models: ModelService | Callable[[], ModelService] | None = None,
        features: FeaturesService | Callable[[], FeaturesService] | None = None,
        audit: AuditService | Callable[[], AuditService] | None = None,
        content_spec: Any = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._sources: dict[str, Any] = {
            "store": store,
            "registry": registry,
            "content": content,
            "models": models,
            "features": features,
            "audit": audit,
        }
        self.cache_dir = Path(cache_dir)
        self.content_spec = content_spec
        self.clock = clock
        self._lock = threading.Lock()
        self._logger: PredictionLogger | None = None
        self._files: SegmentFiles | None = None

    def _provided(self, name: str) -> Any:
        source = self._sources[name]
        if callable(source):  # stores and services are not callable; a provider is
            source = self._sources[name] = source()
        return source

    @property
    def store(self) -> ServingStore:
        store: ServingStore = self._provided("store")
        return store

    @property
    def registry(self) -> RegistryService:
        registry: RegistryService = self._provided("registry")
        return registry

    @property
    def content(self) -> ContentStore:
        content: ContentStore = self._provided("content")
        return content

    def close(self) -> None:
        """Write what the prediction logger holds, stop it, and close the store if it was built."""
        with self._lock:
            logger, self._logger = self._logger, None
        if logger is not None:
            logger.close()
        if not callable(self._sources["store"]):
            self.store.close()

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
        """Deploy ``model`` as ``name`` (a new version of its spec), with canary, shadow or A/B routes.

        ``canary="fraud:7=10%"`` takes 10% from the primary; ``ab="fraud:5=50%,fraud:6=50%"``
        replaces the primary; ``shadow="fraud:8"`` gets a copy of every request. Every model
        must be known to the registry now (an alias must have a holder). Deploying the spec
        that is already live returns it and writes nothing.
        """
        actor = current_actor()
        draft = DeploymentSpec(
            name=check_deployment_name(name),
            version=0,
            routes=check_routes(build_routes(model, canary, shadow, ab)),
            features=self._check_features(check_field(features, "feature service")),
            batching=check_batching(batching),
            routing_key=check_field(routing_key, "routing key"),
            created_at=self.clock(),
            created_by=actor,
            reason=reason,
        )
        for route in draft.routes:
            self._resolve_route(route)
        latest = self._find_spec(draft.name)
        if latest is not None and latest.content() == draft.content():
            return latest
        spec = self.store.create_spec(draft)
        self._record(actor, "deployment.deploy", spec)
        return spec

    def _check_features(self, service: str | None) -> str | None:
        features = None if service is None else self._provided("features")
        if features is not None:
            try:
                features.get(service, kind="feature_service")
            except NotFoundError as exc:
                raise NotFoundError(
                    f"features: {exc.message}; define it first (shipyard features apply)"
                ) from exc
        return service

    def _find_spec(self, name: str) -> DeploymentSpec | None:
        try:
            return self.store.get_spec(name)
        except NotFoundError:
            return None

    def get(self, name: str) -> Deployment:
        """A deployment's latest spec and the last status the data plane reported for each route."""
        spec = self.store.get_spec(name)
        return Deployment(name, spec, self._statuses(spec))

    def _statuses(self, spec: DeploymentSpec) -> dict[str, RouteStatus]:
        return {s.route: s for s in self.store.list_statuses(spec.name) if spec.route(s.route) is not None}

    def list(self, limit: int = 1000, offset: int = 0) -> builtins.list[Deployment]:
        """Live deployments, by name."""
        specs = self.store.list_specs(limit=max(1, limit), offset=max(0, offset))
        return [Deployment(s.name, s, self._statuses(s)) for s in specs]

    def history(self, name: str) -> builtins.list[DeploymentSpec]:
        """Every version of a deployment's spec, oldest first (undeployed ones too)."""
        return self.store.list_history(name)

    def set_weight(
        self, name: str, route: str, weight: float | str, reason: str | None = None
    ) -> DeploymentSpec:
        """Give ``route`` ``weight`` percent of the live traffic (a new version of the spec); the
        primary (or, in an A/B pair, the other route) takes or gives the difference."""
        actor = current_actor()
        for _ in range(MAX_ATTEMPTS):
            spec = self.store.get_spec(name)
            routes = check_routes(reweight(spec.routes, route, weight))
            if routes == spec.routes:
                return spec
            draft = dataclasses.replace(
                spec, routes=routes, created_at=self.clock(), created_by=actor, reason=reason
            )
            try:
                done = self.store.create_spec(draft, expected_version=spec.version)
            except ConflictError:
                continue  # changed meanwhile: apply the weight to the new spec
            self._record(actor, "deployment.set_weight", done)
            return done
        raise ConflictError(f"deployment {name!r} kept changing during {MAX_ATTEMPTS} attempts; try again")

    def undeploy(self, name: str, reason: str | None = None) -> None:
        """Stop serving ``name``: it leaves the list and the data plane; its history stays."""
        actor = current_actor()
        spec = self.store.get_spec(name)
        self.store.delete_deployment(name, self.clock())
        self._record(actor, "deployment.undeploy", dataclasses.replace(spec, reason=reason))

    # -- the data plane's questions -------------------------------------------------
    def resolve(self, name: str) -> builtins.list[ResolvedRoute]:
        """Each route of the latest spec with the model version it names now (aliases followed
        through the registry on every call). ``NotFoundError`` names a route whose model or alias
        no longer resolves (e.g. an alias emptied by a rollback)."""
        return [self._resolve_route(route) for route in self.store.get_spec(name).routes]

    def _resolve_route(self, route: Route) -> ResolvedRoute:
        try:
            version = self.registry.resolve(route.model)
        except NotFoundError as exc:
            raise NotFoundError(f"route {route.name!r} ({route.model}): {exc.message}") from exc
        return ResolvedRoute(route, version.name, version.version, version.model_uri, version.package_digest)

    def report_status(self, name: str, status: RouteStatus) -> None:
        """Record what the data plane serves on one route (``updated_at`` 0 means now)."""
        if status.state not in ROUTE_STATES:
            raise InvalidInputError(f"unknown route state {status.state!r}; use {', '.join(ROUTE_STATES)}")
        if not isinstance(status.route, str) or not status.route:
            raise InvalidInputError(f"a route status needs the route's name, got {status.route!r}")
        if status.updated_at <= 0:
            status = dataclasses.replace(status, updated_at=self.clock())
        self.store.set_status(name, status)

    # -- the prediction log ---------------------------------------------------------
    def prediction_logger(self, **options: Any) -> PredictionLogger:
        """This service's logger (started on the first call; ``options``, e.g. ``capacity``,
        ``segment_rows``, ``flush_interval_s``, apply then). Closed by :meth:`close`."""
        with self._lock:
            if self._logger is None or self._logger.closed:
                self._logger = PredictionLogger(self.write_segment, **options)
            return self._logger

    def write_segment(self, deployment: str, records: builtins.list[Logged]) -> None:
        """Write ``records`` as one Parquet segment in the content store and index it."""
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        table = segment_table(records)
        table = table.replace_schema_metadata({"shipyard.prediction_log": "1"})
        with tempfile.TemporaryDirectory(prefix="shipyard-predictions-") as tmp:
            path = Path(tmp) / "segment.parquet"
            # Dictionary-encode only the few-valued columns: trying it on ids, inputs and
            # floats costs time and gains nothing.
            pq.write_table(table, path, compression="zstd", use_dictionary=DICTIONARY_COLUMNS)
            digest, _ = self.content.put_file(path)
        bounds = pc.min_max(table["ts_ms"]).as_py()
        segment = PredictionSegment(
            new_id(), deployment, digest, table.num_rows, bounds["min"], bounds["max"], self.clock()
        )
        self.store.add_segment(segment)

    def add_segment(self, segment: PredictionSegment) -> PredictionSegment:
        """Index a segment another process wrote (its content must be in the content store)."""
        check_deployment_name(segment.deployment)
        if segment.rows < 1 or segment.min_ts > segment.max_ts:
            raise InvalidInputError(f"segment {segment.id}: rows must be >= 1 and min_ts <= max_ts")
        if not self.content.exists(segment.digest):
            raise NotFoundError(f"segment {segment.id}: no content {segment.digest} in the artifact store")
        self.store.add_segment(segment)
        return segment

    def segments(
        self, deployment: str | None = None, start: Time = None, end: Time = None
    ) -> builtins.list[PredictionSegment]:
        """The index rows of the log's segments (of one deployment), by time."""
        return self.store.list_segments(deployment, _ms(start), _ms(end))

    def segment_digests(self) -> set[str]:
        """Every content digest the prediction log references (what storage gc must keep)."""
        return {s.digest for s in self.store.list_segments()}

    def _segment_files(self) -> SegmentFiles:
        with self._lock:
            if self._files is None:
                self._files = SegmentFiles(self.content, self.cache_dir)
            return self._files

    def _flush_own_log(self) -> None:
        with self._lock:
            logger = self._logger
        if logger is not None and logger.stats().pending:
            logger.flush()

    def predictions_table(
        self, deployment: str, start: Time = None, end: Time = None, with_labels: bool = True
    ) -> pa.Table:
        """The log of ``deployment`` in ``[start, end)`` as Arrow, JSON columns still text."""
        self._flush_own_log()
        first, last = _ms(start), _ms(end)
        segments = self.store.list_segments(deployment, first, last)
        paths = self._segment_files().paths(segments)
        labels = self.store.list_labels(deployment) if with_labels else None
        return query_table(paths, deployment, first, last, labels)

    def predictions(
        self, deployment: str, start: Time = None, end: Time = None, with_labels: bool = True
    ) -> pd.DataFrame:
        """Every logged prediction of ``deployment`` made in ``[start, end)`` (datetimes, naive
        meaning UTC, ms or ISO strings), with its label when feedback came (``label``,
        ``label_ts_ms``; missing otherwise). Columns: see ``docs/serving.md``."""
        return to_frame(self.predictions_table(deployment, start, end, with_labels))

    # -- feedback -------------------------------------------------------------------
    def record_feedback(
        self, items: Mapping[str, Any] | Sequence[Mapping[str, Any]], deployment: str | None = None
    ) -> FeedbackResult:
        """Store the labels of logged predictions (``{request_id, label, ts?}``, one or a list).

        A request id must be in the log (of ``deployment``, when given), written or still
        pending in this process's logger; the others are answered in ``unknown`` and nothing
        is stored for them. A second label for an id replaces the first.
        """
        checked = check_items(items)
        ids = list(dict.fromkeys(item.request_id for item in checked))
        known = self._pending(ids)
        missing = [i for i in ids if i not in known]
        if missing:
            known.update(self._written_ids(missing, deployment))
        missing = [i for i in ids if i not in known]
        if missing and self._flush_logger():
            # A record between the logger's queue and its buffers is in neither for a
            # moment: after a flush every record this process logged is in a segment.
            known.update(self._written_ids(missing, deployment))
        if deployment is not None:
            known = {i: d for i, d in known.items() if d == deployment}
        now = self.clock()
        labels = {
            i.request_id: Label(i.request_id, known[i.request_id], i.label, _or(i.ts, now), now)
            for i in checked
            if i.request_id in known
        }
        self.store.save_labels(list(labels.values()))
        return {"accepted": len(labels), "unknown": [i for i in ids if i not in known]}

    def _written_ids(self, ids: builtins.list[str], deployment: str | None) -> dict[str, str]:
        paths = self._segment_files().paths(self.store.list_segments(deployment))
        return find_request_ids(paths, ids)

    def _flush_logger(self) -> bool:
        """Write what this process's logger holds; False when there is no logger."""
        with self._lock:
            logger = self._logger
        return logger is not None and logger.flush(timeout=30.0)

    def _pending(self, ids: builtins.list[str]) -> dict[str, str]:
        with self._lock:
            logger = self._logger
        return {} if logger is None else logger.pending(ids)

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
        """Score a Parquet file with ``model`` (``fraud@production``, ``fraud:7``, ``runs:/...``)
        chunk by chunk into ``output``; ``executor="ray"`` spreads the chunks over Ray."""
        from shipyard.serving.batch import score_file

        models: ModelService | None = self._provided("models")
        if models is None:
            raise InvalidInputError("batch scoring needs the model service of a workspace")
        return score_file(
            models,
            self.registry,
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

    # -- plumbing -------------------------------------------------------------------
    def _record(self, actor: str, action: str, spec: DeploymentSpec) -> None:
        audit: AuditService | None = self._provided("audit")
        if audit is not None:
            audit.record(actor, action, f"deployment:{spec.name}", spec.to_dict())


def _ms(at: Time) -> int | None:
    return None if at is None else to_ms(at)


def _or(value: int | None, default: int) -> int:
    return default if value is None else value
