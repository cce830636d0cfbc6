"""Use cases of experiment tracking: validation, lineage, audit, artifacts.

The service is the only door into a :class:`TrackingStore`; the SDK, the CLI and
the server all go through it, so every rule holds in every mode.

Ids and times are chosen here unless the caller supplies them (keyword-only
``experiment_id``, ``run_id``, ``created_at``, ``start_time``, ``end_time``, ``at``):
a remote SDK runs its own service, which has already chosen them before its REST
store sends them, and the server keeps them. Supplied ids must look like
:func:`~shipyard.core.ids.new_id` ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core import names
from shipyard.core.clock import now_ms
from shipyard.core.errors import InvalidInputError, NotFoundError
from shipyard.core.ids import check_id, new_id
from shipyard.tracking.filters import Expr, OrderBy, parse_filter, parse_order_by
from shipyard.tracking.models import (
    Artifact,
    CompletedRun,
    Experiment,
    MetricHistory,
    RunInput,
    RunRecord,
    RunStatus,
)
from shipyard.tracking.store.base import MetricRow, TrackingStore

if TYPE_CHECKING:
    from shipyard.governance.service import AuditService
    from shipyard.storage.cas import ContentStore

MAX_BATCH = 100_000
MAX_RESULTS = 50_000
MAX_ARTIFACTS = 100_000


class TrackingService:
    """Experiments, runs, params, metrics, tags and artifacts."""

    def __init__(
        self,
        store: TrackingStore,
        *,
        audit: AuditService | None = None,
        content: ContentStore | None = None,
        model_logger: Callable[..., str] | None = None,
    ) -> None:
        self.store = store
        self.audit = audit
        self.content = content
        # Saves a model package for a run; given by the workspace (tracking cannot import models).
        self.model_logger = model_logger
        self._checked_keys: set[str] = set()

    # -- experiments ---------------------------------------------------------------
    def create_experiment(
        self,
        name: str,
        tags: Mapping[str, str] | None = None,
        *,
        experiment_id: str | None = None,
        created_at: int | None = None,
    ) -> Experiment:
        """Create an experiment (``AlreadyExistsError`` if the name is taken)."""
        names.check_name(name, "experiment name")
        clean = self._check_tags(tags or {})
        new = new_id() if experiment_id is None else check_id(experiment_id, "experiment id")
        when = now_ms() if created_at is None else _time(created_at, "created_at")
        experiment = self.store.create_experiment(new, name, when, clean)
        self._record("experiment.create", f"experiment:{experiment.id}", {"name": name, "tags": clean})
        return experiment

    def get_or_create_experiment(self, name: str) -> Experiment:
        found = self.store.find_experiment_by_name(names.check_name(name, "experiment name"))
        if found is not None:
            return found
        try:
            return self.create_experiment(name)
        except Exception:  # lost a race with another process: read the winner
            found = self.store.find_experiment_by_name(name)
            if found is None:
                raise
            return found

    def get_experiment(self, id_or_name: str) -> Experiment:
        """An experiment by name, or by id when no experiment has that name."""
        found = self.store.find_experiment_by_name(id_or_name)
        return found if found is not None else self.get_experiment_by_id(id_or_name)

    def get_experiment_by_id(self, experiment_id: str) -> Experiment:
        """An experiment by id only (``NotFoundError`` otherwise, names are not tried)."""
        return self.store.get_experiment(_check_ref(experiment_id, "experiment"))

    def find_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment called ``name``, or None."""
        return self.store.find_experiment_by_name(names.check_name(name, "experiment name"))

    def list_experiments(self, limit: int = 1000, offset: int = 0) -> list[Experiment]:
        return self.store.list_experiments(limit=_positive(limit, "limit"), offset=max(offset, 0))

    # -- runs ----------------------------------------------------------------------
    def create_run(
        self,
        experiment: str | None = None,
        run_name: str | None = None,
        tags: Mapping[str, str] | None = None,
        lineage: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        start_time: int | None = None,
        experiment_id: str | None = None,
    ) -> RunRecord:
        """Start a run in ``experiment`` (a name, created if new) or in ``experiment_id`` (must exist)."""
        if (experiment is None) == (experiment_id is None):
            raise InvalidInputError("give either an experiment name ('experiment') or an 'experiment_id'")
        if experiment_id is not None:
            exp = self.get_experiment_by_id(experiment_id)
        else:
            exp = self.get_or_create_experiment(experiment)  # type: ignore[arg-type]
        new = new_id() if run_id is None else check_id(run_id, "run id")
        name = names.check_name(run_name, "run name") if run_name is not None else f"run-{new[-8:]}"
        clean = self._check_tags(tags or {})
        when = now_ms() if start_time is None else _time(start_time, "start_time")
        run = self.store.create_run(new, exp.id, name, when, clean, dict(lineage or {}))
        self._record("run.create", f"run:{new}", {"experiment_id": exp.id, "name": name})
        return run

    def get_run(self, run_id: str) -> RunRecord:
        return self.store.get_run(_check_id(run_id))

    def end_run(
        self,
        run_id: str,
        status: RunStatus | str = RunStatus.FINISHED,
        error: str | None = None,
        *,
        end_time: int | None = None,
    ) -> RunRecord:
        """Move a running run to a terminal status (``ConflictError`` if it already ended)."""
        final = _status(status)
        if not final.is_terminal:
            raise InvalidInputError("a run can only be ended as finished, failed or killed")
        when = now_ms() if end_time is None else _time(end_time, "end_time")
        run = self.store.set_run_status(_check_id(run_id), final, when, error)
        self._record(f"run.{final.value}", f"run:{run_id}", {"error": error})
        return run

    def heartbeat(self, run_id: str, *, at: int | None = None) -> None:
        """Record that the run's process is alive (at ``at``, default now)."""
        self.store.heartbeat(_check_id(run_id), now_ms() if at is None else _time(at, "at"))

    def find_stale_runs(self, heartbeat_before: int) -> list[RunRecord]:
        """Running runs whose last heartbeat (or start) is older than ``heartbeat_before`` (ms)."""
        return self.store.find_stale_runs(_int(heartbeat_before, "heartbeat_before"))

    def kill_stale_runs(self, stale_after_s: float) -> list[RunRecord]:
        """Mark ``killed`` every running run whose heartbeat is older than ``stale_after_s``."""
        cutoff = now_ms() - int(stale_after_s * 1000)
        killed = []
        for run in self.find_stale_runs(cutoff):
            reason = f"no heartbeat since {run.heartbeat_at or run.start_time} (ms); marked killed by gc"
            killed.append(self.end_run(run.id, RunStatus.KILLED, reason))
        return killed

    # -- params, tags, metrics -----------------------------------------------------
    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        clean = {
            names.check_key(k, "param key"): names.check_value(
                v, names.MAX_PARAM_VALUE_LENGTH, f"param {k!r}"
            )
            for k, v in params.items()
        }
        if clean:
            self.store.log_params(_check_id(run_id), clean)
            self._record("run.log_params", f"run:{run_id}", clean)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        clean = self._check_tags(tags)
        if clean:
            self.store.set_tags(_check_id(run_id), clean)
            self._record("run.set_tags", f"run:{run_id}", clean)

    def log_metrics(self, run_id: str, rows: Sequence[MetricRow]) -> None:
        """Validate and append a batch of (key, value, step, timestamp) points."""
        if not rows:
            return
        if len(rows) > MAX_BATCH:
            raise InvalidInputError(f"a metric batch holds at most {MAX_BATCH} points, got {len(rows)}")
        checked = self._checked_keys
        clean: list[MetricRow] = []
        for row in rows:
            key, value, step, ts = row
            if key not in checked:
                names.check_key(key, "metric key")
                checked.add(key)
            if type(value) is not float:
                value = _metric_value(key, value)
            if type(step) is not int or type(ts) is not int:
                step, ts = _int(step, f"step of {key!r}"), _int(ts, f"timestamp of {key!r}")
            clean.append((key, value, step, ts))
        self.store.log_metrics(_check_id(run_id), clean)
        if self.audit is not None:
            self._record("run.log_metrics", f"run:{run_id}", {"points": len(clean)})

    def get_metric_history(self, run_id: str, key: str) -> MetricHistory:
        return self.store.get_metric_history(_check_id(run_id), names.check_key(key, "metric key"))

    def search_runs(
        self,
        experiments: Sequence[str] | str | None = None,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        max_results: int = 1000,
        offset: int = 0,
    ) -> list[RunRecord]:
        """Runs of the named experiments (None: all) matching ``filter``, sorted by ``order_by``."""
        experiment_ids = None
        if experiments is not None:
            wanted = [experiments] if isinstance(experiments, str) else list(experiments)
            experiment_ids = [self.get_experiment(name).id for name in wanted]
        return self.search_runs_parsed(
            experiment_ids, parse_filter(filter), parse_order_by(order_by), max_results, offset
        )

    def search_runs_parsed(
        self,
        experiment_ids: Sequence[str] | None,
        expr: Expr | None,
        order_by: Sequence[OrderBy],
        max_results: int = 1000,
        offset: int = 0,
    ) -> list[RunRecord]:
        """Like :meth:`search_runs`, by experiment ids and with an already parsed filter and order."""
        if max_results < 1 or max_results > MAX_RESULTS:
            raise InvalidInputError(f"max_results must be between 1 and {MAX_RESULTS}, got {max_results}")
        return self.store.search_runs(
            experiment_ids, expr, order_by, max_results=max_results, offset=max(offset, 0)
        )

    # -- artifacts -----------------------------------------------------------------
    def log_artifact(
        self, run_id: str, local_path: str | Path, artifact_path: str | None = None
    ) -> list[Artifact]:
        """Store a file or a folder's files by content; record logical path -> digest."""
        from shipyard.storage.paths import check_artifact_path, walk_upload

        content = self._content()
        run_id = self.get_run(run_id).id
        source = Path(local_path)
        if not source.exists():
            raise InvalidInputError(f"cannot log artifact: {source} does not exist")
        prefix = check_artifact_path(artifact_path) if artifact_path else None
        if source.is_dir():
            pairs = [(f, f"{prefix}/{rel}" if prefix else rel) for f, rel in walk_upload(source)]
        else:
            pairs = [(source, prefix or check_artifact_path(source.name))]
        records = []
        for file, logical in pairs:
            digest, size = content.put_file(file)
            records.append(Artifact(check_artifact_path(logical), digest, size))
        self.store.log_artifacts(run_id, records)
        self._record("run.log_artifacts", f"run:{run_id}", [a.path for a in records])
        return records

    def record_artifacts(self, run_id: str, artifacts: Sequence[Artifact]) -> list[Artifact]:
        """Record logical path -> digest for content already in the content store.

        For content uploaded beforehand (``PUT /api/v1/blobs/{digest}``): each path
        is checked, and each digest must be stored with the stated size
        (``NotFoundError`` if absent, ``InvalidInputError`` if the size differs).
        """
        if len(artifacts) > MAX_ARTIFACTS:
            raise InvalidInputError(
                f"at most {MAX_ARTIFACTS} artifact records per call, got {len(artifacts)}"
            )
        run_id = self.get_run(run_id).id
        clean = [_stored_artifact(self._content(), a) for a in artifacts]
        if clean:
            self.store.log_artifacts(run_id, clean)
            self._record("run.log_artifacts", f"run:{run_id}", [a.path for a in clean])
        return clean

    def list_artifacts(self, run_id: str) -> list[Artifact]:
        return self.store.list_artifacts(_check_id(run_id))

    def artifact_digests(self) -> set[str]:
        """Content digests referenced by run artifacts: storage gc must keep these."""
        return self.store.artifact_digests()

    # -- inputs --------------------------------------------------------------------
    def log_inputs(self, run_id: str, inputs: Sequence[RunInput]) -> None:
        """Record what a run read (e.g. dataset versions); the same input again is a no-op."""
        clean = _clean_inputs(inputs)
        if clean:
            self.store.log_inputs(_check_id(run_id), clean)
            self._record("run.log_inputs", f"run:{run_id}", [[i.kind, i.ref, i.context] for i in clean])

    def list_inputs(self, run_id: str) -> list[RunInput]:
        return self.store.list_inputs(_check_id(run_id))

    # -- runs recorded after the fact ----------------------------------------------
    def record_runs(self, experiment_id: str, runs: Sequence[CompletedRun]) -> list[CompletedRun]:
        """Record ended runs (e.g. the steps of a pipeline run) in one go, each with its params,
        tags, artifacts and inputs: one transaction on SQL stores and one audit event.

        Ids, names, keys, values, paths and digests are checked as the single calls check
        them; the artifacts' content must already be in the content store.
        """
        from shipyard.storage.digests import check_digest
        from shipyard.storage.paths import check_artifact_path

        clean = []
        for run in runs:
            if not run.status.is_terminal:
                raise InvalidInputError(f"run {run.id} must be recorded ended, not {run.status.value}")
            artifacts = tuple(
                Artifact(check_artifact_path(a.path), check_digest(a.digest), a.size) for a in run.artifacts
            )
            params = {
                names.check_key(k, "param key"): names.check_value(
                    v, names.MAX_PARAM_VALUE_LENGTH, f"param {k!r}"
                )
                for k, v in run.params.items()
            }
            clean.append(
                CompletedRun(
                    id=check_id(run.id, "run id"),
                    name=names.check_name(run.name, "run name"),
                    status=run.status,
                    start_time=_time(run.start_time, "start_time"),
                    end_time=_time(run.end_time, "end_time"),
                    error=run.error,
                    params=params,
                    tags=self._check_tags(run.tags),
                    artifacts=artifacts,
                    inputs=tuple(_clean_inputs(run.inputs)),
                    lineage=dict(run.lineage),
                )
            )
        if clean:
            experiment = self.get_experiment_by_id(experiment_id)
            self.store.record_runs(experiment.id, clean)
            self._record("run.record", f"experiment:{experiment.id}", [r.id for r in clean])
        return clean

    def download_artifacts(self, run_id: str, dest: str | Path, path: str | None = None) -> list[Path]:
        """Materialise the run's artifacts (or those under ``path``) into ``dest``, digests verified."""
        from shipyard.storage.paths import check_artifact_path

        content = self._content()
        wanted = check_artifact_path(path) if path else None
        chosen = [
            a
            for a in self.list_artifacts(run_id)
            if wanted is None or a.path == wanted or a.path.startswith(wanted + "/")
        ]
        if wanted is not None and not chosen:
            raise NotFoundError(f"run {run_id} has no artifact at {wanted!r}")
        written = []
        for artifact in chosen:
            target = Path(dest) / artifact.path
            target.parent.mkdir(parents=True, exist_ok=True)
            content.get_file(artifact.digest, target)
            written.append(target)
        return written

    # -- internals -----------------------------------------------------------------
    def _content(self) -> ContentStore:
        if self.content is None:
            raise InvalidInputError("this Shipyard workspace has no artifact store configured")
        return self.content

    def _check_tags(self, tags: Mapping[str, Any]) -> dict[str, str]:
        return {
            names.check_key(k, "tag key"): names.check_value(v, names.MAX_TAG_VALUE_LENGTH, f"tag {k!r}")
            for k, v in tags.items()
        }

    def _record(self, action: str, target: str, payload: Any) -> None:
        if self.audit is not None:
            from shipyard.core.actors import current_actor

            self.audit.record(current_actor(), action, target, payload)


def _check_id(run_id: object) -> str:
    return _check_ref(run_id, "run")


def _check_ref(value: object, kind: str) -> str:
    """An id naming an existing ``kind``; one that cannot be an id is simply not found."""
    if not isinstance(value, str) or not value or len(value) > 64 or not value.isalnum():
        raise NotFoundError(f"{kind} {value!r} not found")
    return value


def _clean_inputs(inputs: Sequence[RunInput]) -> list[RunInput]:
    """Inputs with kind, context, digest and ref checked; a missing time becomes now."""
    from shipyard.storage.digests import check_digest

    clean = []
    for item in inputs:
        names.check_key(item.kind, "input kind")
        names.check_key(item.context, "input context")
        check_digest(item.digest)
        if not item.ref or len(item.ref) > 300:
            raise InvalidInputError(f"input ref must be 1 to 300 characters, got {item.ref!r}")
        clean.append(RunInput(item.kind, item.ref, item.digest, item.context, item.created_at or now_ms()))
    return clean


def _stored_artifact(content: ContentStore, artifact: Artifact) -> Artifact:
    """``artifact`` with its path and digest checked against what the content store holds."""
    from shipyard.storage.digests import check_digest
    from shipyard.storage.paths import check_artifact_path

    path, digest = check_artifact_path(artifact.path), check_digest(artifact.digest)
    if not content.exists(digest):
        raise NotFoundError(f"no content with digest {digest} for artifact {path!r}: upload it first")
    size = content.size(digest)
    if size != artifact.size:
        raise InvalidInputError(
            f"artifact {path!r} says {artifact.size} bytes; the content of {digest} has {size}"
        )
    return Artifact(path, digest, size)


def _status(value: RunStatus | str) -> RunStatus:
    try:
        return RunStatus(value)
    except ValueError:
        raise InvalidInputError(
            f"unknown run status {value!r}; use one of {', '.join(s.value for s in RunStatus)}"
        ) from None


def _metric_value(key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            import numpy as np

            if isinstance(value, np.generic) and np.issubdtype(type(value), np.number):
                return float(value)
        except ImportError:  # pragma: no cover
            pass
        raise InvalidInputError(f"metric {key!r} must be a number, got {type(value).__name__} {value!r}")
    return float(value)  # NaN and +/-inf are kept as such


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            import numpy as np

            if isinstance(value, np.integer):
                return int(value)
        except ImportError:  # pragma: no cover
            pass
        raise InvalidInputError(f"{what} must be an integer, got {value!r}")
    return value


def _time(value: object, what: str) -> int:
    """A caller-supplied time in ms since the epoch: an integer, not negative."""
    ms = _int(value, what)
    if ms < 0:
        raise InvalidInputError(f"{what} must be a time in ms since the epoch, got {ms}")
    return ms


def _positive(value: int, what: str) -> int:
    if value < 1:
        raise InvalidInputError(f"{what} must be at least 1, got {value}")
    return value
