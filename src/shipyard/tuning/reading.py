"""Studies and trials as Shipyard reads them back from Optuna: :class:`TrialInfo`, :class:`StudySummary`,
and the trials as a DataFrame."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shipyard.tuning.models import StudySummary, TrialInfo

if TYPE_CHECKING:
    import pandas as pd


def trial_info(trial: Any) -> TrialInfo:
    """A :class:`TrialInfo` from an Optuna ``FrozenTrial``."""
    return TrialInfo(
        number=trial.number,
        state=trial.state.name.lower(),
        value=trial.value,
        params=dict(trial.params),
        run_id=trial.user_attrs.get("shipyard.run_id"),
        started_at=_ms(trial.datetime_start),
        ended_at=_ms(trial.datetime_complete),
        intermediate=dict(trial.intermediate_values),
    )


def summary_of(study: Any, trials: Sequence[Any]) -> StudySummary:
    """A :class:`StudySummary` from an Optuna ``FrozenStudy`` and its trials."""
    counts: dict[str, int] = {}
    for trial in trials:
        state = trial.state.name.lower()
        counts[state] = counts.get(state, 0) + 1
    direction = study.direction.name.lower()
    complete = [t for t in trials if t.state.name == "COMPLETE" and t.value is not None]
    pick = max if direction == "maximize" else min
    best = pick(complete, key=lambda t: t.value) if complete else None
    attrs = study.user_attrs
    return StudySummary(
        name=study.study_name,
        metric=str(attrs.get("shipyard.metric", "value")),
        direction=direction,
        space=dict(attrs.get("shipyard.space", {})),
        created_at=attrs.get("shipyard.created_at"),
        counts=counts,
        best_value=best.value if best else None,
        best_params=dict(best.params) if best else {},
        best_run_id=best.user_attrs.get("shipyard.run_id") if best else None,
        runs=list(attrs.get("shipyard.runs", [])),
    )


def result_frame(trials: Sequence[TrialInfo]) -> pd.DataFrame:
    """One row per trial: number, state, value, run_id, duration_ms and ``params.<name>`` columns."""
    import pandas as pd

    rows = [
        {
            "number": t.number,
            "state": t.state,
            "value": t.value,
            "run_id": t.run_id,
            "duration_ms": t.duration_ms,
            **{f"params.{name}": value for name, value in sorted(t.params.items())},
        }
        for t in trials
    ]
    columns = ["number", "state", "value", "run_id", "duration_ms"]
    return pd.DataFrame(rows, columns=[*columns, *sorted({k for r in rows for k in r} - set(columns))])


def _ms(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)
