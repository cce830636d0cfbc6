"""Runs as a pandas DataFrame (one row per run), built column by column."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shipyard.tracking.models import RunRecord


def runs_frame(runs: Sequence[RunRecord]) -> Any:
    """Columns: run_id, experiment_id, run_name, status, start_time, end_time (UTC datetimes),
    then ``params.*``, ``metrics.*`` and ``tags.*`` sorted by key; missing values are NaN/None."""
    import numpy as np
    import pandas as pd

    columns: dict[str, Any] = {
        "run_id": [r.id for r in runs],
        "experiment_id": [r.experiment_id for r in runs],
        "run_name": [r.name for r in runs],
        "status": [r.status.value for r in runs],
        "start_time": pd.to_datetime([r.start_time for r in runs], unit="ms", utc=True),
        "end_time": pd.to_datetime([r.end_time for r in runs], unit="ms", utc=True),
    }
    for prefix, attr, missing in (("params", "params", None), ("metrics", "metrics", np.nan),
                                  ("tags", "tags", None)):
        keys = sorted({k for r in runs for k in getattr(r, attr)})
        for key in keys:
            columns[f"{prefix}.{key}"] = [getattr(r, attr).get(key, missing) for r in runs]
    frame = pd.DataFrame(columns)
    for name in frame.columns:
        if name.startswith("metrics."):
            frame[name] = frame[name].astype("float64")
    return frame
