"""The handle of a run in progress: what ``sy.start_run`` returns."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from shipyard.core import names
from shipyard.core.clock import now_ms
from shipyard.core.errors import InvalidInputError
from shipyard.tracking.buffer import MetricBuffer
from shipyard.tracking.models import Artifact, RunInput, RunRecord, RunStatus
from shipyard.tracking.service import TrackingService

if TYPE_CHECKING:
    from shipyard.datasets.models import DatasetVersion

_valid_keys: set[str] = set()


def _metric_key(key: str) -> str:
    if key not in _valid_keys:
        names.check_key(key, "metric key")
        _valid_keys.add(key)
    return key


def _metric_value(key: str, value: Any) -> float:
    if type(value) is float:
        return value
    if isinstance(value, bool) or not hasattr(value, "__float__"):
        raise InvalidInputError(f"metric {key!r} must be a number, got {type(value).__name__} {value!r}")
    return float(value)


class Run:
    """A running run. Use it as a context manager: it ends ``finished``, or ``failed``
    with the exception recorded when the block raises.

    Metrics are buffered (see :mod:`shipyard.tracking.buffer`); params, tags and
    artifacts are written at once. ``step`` defaults to one more than the last step
    logged for that key by this handle (0 for the first point).
    """

    def __init__(
        self,
        service: TrackingService,
        record: RunRecord,
        buffer: MetricBuffer,
        on_exit: Callable[[Run], None] | None = None,
    ) -> None:
        self._service = service
        self._on_exit = on_exit
        self._buffer = buffer
        self.id = record.id
        self.name = record.name
        self.experiment_id = record.experiment_id
        self._next_step: dict[str, int] = {}
        self._ended = False
        buffer.open_run(self.id)

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.name!r}>"

    # -- params and tags -----------------------------------------------------------
    def log_param(self, key: str, value: Any) -> None:
        self._service.log_params(self.id, {key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        self._service.log_params(self.id, params)

    def set_tag(self, key: str, value: Any) -> None:
        self._service.set_tags(self.id, {key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._service.set_tags(self.id, tags)

    # -- metrics -------------------------------------------------------------------
    def log_metric(
        self, key: str, value: float, step: int | None = None, timestamp: int | None = None
    ) -> None:
        """Buffer one point; returns at once."""
        _metric_key(key)
        if step is None:
            step = self._next_step.get(key, 0)
        elif type(step) is not int:
            step = _as_int(step, "step")
        self._next_step[key] = step + 1
        self._buffer.add(
            self.id,
            (
                key,
                _metric_value(key, value),
                step,
                now_ms() if timestamp is None else _as_int(timestamp, "timestamp"),
            ),
        )

    def log_metrics(
        self, metrics: Mapping[str, float], step: int | None = None, timestamp: int | None = None
    ) -> None:
        """Buffer several points at one step (default: each key's next step)."""
        ts = now_ms() if timestamp is None else _as_int(timestamp, "timestamp")
        fixed = None if step is None else _as_int(step, "step")
        next_step = self._next_step
        rows = []
        for key, value in metrics.items():
            if key not in _valid_keys:
                _metric_key(key)
            at = next_step.get(key, 0) if fixed is None else fixed
            next_step[key] = at + 1
            rows.append((key, value if type(value) is float else _metric_value(key, value), at, ts))
        self._buffer.extend(self.id, rows)

    def flush(self) -> None:
        """Make every metric logged so far durable; raises any deferred write error."""
        self._buffer.flush(self.id)

    # -- artifacts -----------------------------------------------------------------
    def log_artifact(self, local_path: str | Path, artifact_path: str | None = None) -> list[Artifact]:
        """Store a file or a folder under a logical path (default: its name / its files)."""
        return self._service.log_artifact(self.id, local_path, artifact_path)

    def log_model(
        self,
        model: Any,
        name: str = "model",
        input_example: Any = None,
        signature: Any = None,
        **options: Any,
    ) -> str:
        """Save ``model`` as a package under ``name`` in this run; return its URI ``runs:/<id>/<name>``.

        The flavor comes from the model's library (scikit-learn, XGBoost, LightGBM, ONNX,
        PyTorch, or ``sy.pyfunc(obj)``); the signature is inferred from ``input_example``
        when not given. ``options``: ``flavor=``, ``extra=`` (see the models docs).
        """
        logger = self._service.model_logger
        if logger is None:
            raise InvalidInputError("model logging is not available: this tracking service has no models")
        return logger(self.id, model, name=name, input_example=input_example, signature=signature, **options)

    # -- inputs --------------------------------------------------------------------
    def log_input(self, dataset_version: DatasetVersion, context: str = "training") -> None:
        """Record a dataset version as an input of this run (``sy.datasets.load`` does it for you)."""
        self._service.log_inputs(
            self.id, [RunInput("dataset", dataset_version.ref, dataset_version.digest, context)]
        )

    # -- lifecycle -----------------------------------------------------------------
    def end(self, status: RunStatus | str = RunStatus.FINISHED, error: str | None = None) -> RunRecord:
        """Flush and end the run."""
        if self._ended:
            return self._service.get_run(self.id)
        self._ended = True
        try:
            self._buffer.close_run(self.id)
        except Exception as exc:
            status, error = RunStatus.FAILED, f"metrics could not be written: {exc}"
            self._service.end_run(self.id, status, error)
            raise
        return self._service.end_run(self.id, status, error)

    @property
    def info(self) -> RunRecord:
        """The run as stored now (buffered metrics included only after ``flush``)."""
        return self._service.get_run(self.id)

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc is None:
                self.end(RunStatus.FINISHED)
            elif isinstance(exc, KeyboardInterrupt):
                self.end(RunStatus.KILLED, "interrupted (KeyboardInterrupt)")
            else:
                summary = "".join(traceback.format_exception(exc_type, exc, tb)[-20:])
                self.end(RunStatus.FAILED, summary[-8000:])
        finally:
            if self._on_exit is not None:
                self._on_exit(self)


def _as_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise InvalidInputError(f"{what} must be an integer, got {value!r}")
    return int(value)
