"""``shipyard tune``: list the tuning studies, show one with its trials.

Searches run from Python (``sy.tune``); the CLI reads what they stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from shipyard.cli import state
from shipyard.cli.output import (
    JsonFlag,
    add_row,
    fmt_value,
    human_duration,
    human_time,
    make_table,
    print_fields,
    print_json,
    print_table,
    time_fields,
)

if TYPE_CHECKING:
    from shipyard.tuning.models import StudySummary, TrialInfo

app = typer.Typer(help="Tuning studies: list them, show one with its trials.", no_args_is_help=True)

STYLES = {"complete": "green", "pruned": "yellow", "fail": "red", "running": "cyan"}


@app.command("list")
def list_command(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List the studies: trials by state, the best value and its params."""
    studies = state(ctx).workspace.tuning.list_studies()
    if as_json:
        print_json([study_json(s) for s in studies])
        return
    table = make_table(
        "study", "metric", "trials", "best", "best params", "created", caption=f"{len(studies)} study(ies)"
    )
    for s in studies:
        add_row(
            table,
            s.name,
            f"{s.direction} {s.metric}",
            _counts(s),
            fmt_value(s.best_value),
            _params(s.best_params),
            human_time(s.created_at),
        )
    print_table(table)


@app.command("show")
def show_command(
    ctx: typer.Context,
    study: Annotated[str, typer.Argument(metavar="STUDY", help="The study's name.")],
    as_json: JsonFlag = False,
) -> None:
    """Show a study: its space, the best trial, and every trial with its state, value, params and run."""
    summary, trials = state(ctx).workspace.tuning.get_study(study)
    if as_json:
        print_json({**study_json(summary), "trials": [trial_json(t) for t in trials]})
        return
    fields: list[tuple[str, str | Text]] = [
        ("study", summary.name),
        ("goal", f"{summary.direction} {summary.metric}"),
    ]
    fields += [(f"space {name}", _distribution(doc)) for name, doc in summary.space.items()]
    fields += [("trials", _counts(summary)), ("best value", fmt_value(summary.best_value))]
    fields += [("best params", _params(summary.best_params)), ("best run", summary.best_run_id or "-")]
    fields += [("sy.tune runs", ", ".join(summary.runs) or "-")]
    print_fields(f"Study {summary.name}", fields)
    table = make_table(
        "#", "state", summary.metric, "params", "duration", "run", caption=f"{len(trials)} trial(s)"
    )
    for t in trials:
        state_cell = Text(t.state, style=STYLES.get(t.state, ""))
        add_row(
            table,
            str(t.number),
            state_cell,
            fmt_value(t.value),
            _params(t.params),
            human_duration(t.duration_ms),
            t.run_id or "-",
        )
    print_table(table, "Trials")


def _counts(summary: StudySummary) -> str:
    return ", ".join(f"{n} {s}" for s, n in sorted(summary.counts.items())) or "none"


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={fmt_value(v)}" for k, v in sorted(params.items())) or "-"


def _distribution(doc: dict[str, Any]) -> str:
    from shipyard.tuning.space import Distribution

    return Distribution.from_json(doc).describe()


def study_json(s: StudySummary) -> dict[str, Any]:
    return {
        "name": s.name,
        "metric": s.metric,
        "direction": s.direction,
        "space": s.space,
        "counts": s.counts,
        "n_trials": s.n_trials,
        "best_value": s.best_value,
        "best_params": s.best_params,
        "best_run_id": s.best_run_id,
        "runs": s.runs,
        **time_fields("created_at", s.created_at),
    }


def trial_json(t: TrialInfo) -> dict[str, Any]:
    return {
        "number": t.number,
        "state": t.state,
        "value": t.value,
        "params": t.params,
        "run_id": t.run_id,
        "duration_ms": t.duration_ms,
        "intermediate": {str(step): value for step, value in sorted(t.intermediate.items())},
        **time_fields("started_at", t.started_at),
        **time_fields("ended_at", t.ended_at),
    }
