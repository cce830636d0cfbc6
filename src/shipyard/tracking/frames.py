"""Runs as a pandas DataFrame (one row per run), built column by column."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shipyard.tracking.models import RunRecord


def runs_frame(runs: Sequence[RunRecord]) -> Any:
    """Columns: run_id, experiment_id, run_name, status, start_time, end_time (UTC datetimes),
    then ``params.*``, ``metrics.*`` and ``tags.*`` sorted by key; missing values are NaN/None.

    >>> from shipyard.tracking.models import RunStatus
    >>> run = RunRecord("r1", "e1", "a", RunStatus.FINISHED, 0, params={"lr": "0.1"}, metrics={"auc": 0.9})
    >>> runs_frame([run])[["run_id", "params.lr", "metrics.auc"]].values.tolist()
    [['r1', '0.1', 0.9]]
    """
    import numpy as np
    import pandas as pd

    n = len(runs)
    text: dict[str, list[Any]] = {}
    numbers: dict[str, Any] = {}
    for i, run in enumerate(runs):
        for prefix, values in (("params.", run.params), ("tags.", run.tags)):
            for key, value in values.items():
                column = text.get(prefix + key)
                if column is None:
                    column = text[prefix + key] = [None] * n
                column[i] = value
        for key, number in run.metrics.items():
            array = numbers.get(key)
            if array is None:
                array = numbers[key] = np.full(n, np.nan)
            array[i] = number
    columns: dict[str, Any] = {
        "run_id": [r.id for r in runs],
        "experiment_id": [r.experiment_id for r in runs],
        "run_name": [r.name for r in runs],
        "status": [r.status.value for r in runs],
        "start_time": pd.to_datetime(
            np.array([r.start_time for r in runs], dtype="int64"), unit="ms", utc=True
        ),
        "end_time": pd.to_datetime(
            np.array([np.nan if r.end_time is None else r.end_time for r in runs], dtype="float64"),
            unit="ms",
            utc=True,
        ),
    }
    columns.update((name, text[name]) for name in sorted(k for k in text if k.startswith("params.")))
    columns.update((f"metrics.{key}", numbers[key]) for key in sorted(numbers))
    columns.update((name, text[name]) for name in sorted(k for k in text if k.startswith("tags.")))
    return pd.DataFrame(columns)
