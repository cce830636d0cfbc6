"""The Python SDK: what ``import shipyard as sy`` exposes (lazily, see ``__init__``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.tracking import fluent
from shipyard.tracking.models import Artifact, Experiment, RunRecord
from shipyard.tracking.run import Run
from shipyard.workspace import current_workspace

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.validation.models import ValidationResult

DEFAULT_EXPERIMENT = "default"


def _buffer() -> Any:
    ws = current_workspace()
    s = ws.settings
    return fluent.buffer_for(
        ws.tracking, s.metric_flush_interval_ms, s.metric_batch_size, s.heartbeat_interval_s
    )


def start_run(
    experiment: str = DEFAULT_EXPERIMENT, run_name: str | None = None, tags: Mapping[str, Any] | None = None
) -> Run:
    """Start a run (creating the experiment if needed); use it as a context manager::

    with sy.start_run(experiment="demo") as run:
        run.log_metric("loss", 0.5)
    """
    ws = current_workspace()
    return fluent.start_run(ws.tracking, _buffer(), experiment, run_name, tags, ws.settings.capture_packages)


def active_run() -> Run | None:
    """The innermost run started with ``start_run`` and not yet ended."""
    return fluent.active_run()


def log_param(key: str, value: Any) -> None:
    fluent.require_active_run().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    fluent.require_active_run().log_params(params)


def log_metric(key: str, value: float, step: int | None = None, timestamp: int | None = None) -> None:
    fluent.require_active_run().log_metric(key, value, step, timestamp)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    fluent.require_active_run().log_metrics(metrics, step)


def set_tag(key: str, value: Any) -> None:
    fluent.require_active_run().set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    fluent.require_active_run().set_tags(tags)


def log_artifact(local_path: str | Path, artifact_path: str | None = None) -> list[Artifact]:
    return fluent.require_active_run().log_artifact(local_path, artifact_path)


def flush() -> None:
    """Make every buffered metric of every run durable."""
    _buffer().flush()


def get_run(run_id: str) -> RunRecord:
    return current_workspace().tracking.get_run(run_id)


def list_experiments() -> list[Experiment]:
    return current_workspace().tracking.list_experiments()


def get_metric_history(run_id: str, key: str) -> pd.DataFrame:
    """Every point of a metric as a DataFrame with columns step, value, timestamp, in step order."""
    import numpy as np
    import pandas as pd

    history = current_workspace().tracking.get_metric_history(run_id, key)
    return pd.DataFrame(
        {
            "step": np.asarray(history.steps, dtype=np.int64),
            "value": np.asarray(history.values, dtype=np.float64),
            "timestamp": np.asarray(history.timestamps, dtype=np.int64),
        }
    )


def search_runs(
    experiment: str | Sequence[str] | None = None,
    filter: str | None = None,
    order_by: str | Sequence[str] | None = None,
    max_results: int = 1000,
) -> pd.DataFrame:
    """Runs as a DataFrame: one row per run; ``params.*``, ``metrics.*`` (latest), ``tags.*`` columns."""
    from shipyard.tracking.frames import runs_frame

    runs = current_workspace().tracking.search_runs(experiment, filter, order_by, max_results)
    frame: pd.DataFrame = runs_frame(runs)
    return frame


def download_artifacts(run_id: str, dest: str | Path, path: str | None = None) -> list[Path]:
    """Materialise a run's artifacts into ``dest`` (digests verified)."""
    return current_workspace().tracking.download_artifacts(run_id, dest, path)


def validate(suite: Any, data: Any, *, halt: bool = False) -> ValidationResult:
    """Run a validation suite (a ``Suite``, a dict, or a YAML path) on data (a dataset version or
    ``"name@3"``, a local path, or a DataFrame). With ``halt=True`` a failure raises
    ``ValidationFailed`` carrying the result. Results on dataset versions are stored."""
    return current_workspace().validation.validate(suite, data, halt=halt)
