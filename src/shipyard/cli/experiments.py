"""``shipyard experiments``: the experiments of the workspace."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from shipyard.cli import state
from shipyard.cli.output import (
    JsonFlag,
    add_row,
    human_time,
    make_table,
    print_json,
    print_table,
    time_fields,
)

if TYPE_CHECKING:
    from shipyard.tracking.models import Experiment
    from shipyard.tracking.service import TrackingService

app = typer.Typer(help="Experiments: named groups of runs.", no_args_is_help=True)

PAGE = 1000


def all_experiments(tracking: TrackingService) -> list[Experiment]:
    """Every experiment, page by page."""
    found: list[Experiment] = []
    while True:
        page = tracking.list_experiments(limit=PAGE, offset=len(found))
        found.extend(page)
        if len(page) < PAGE:
            return found


def experiment_json(experiment: Experiment) -> dict[str, Any]:
    return {
        "id": experiment.id,
        "name": experiment.name,
        "tags": dict(experiment.tags),
        **time_fields("created_at", experiment.created_at),
    }


@app.command("list")
def list_command(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List experiments, oldest first."""
    experiments = all_experiments(state(ctx).workspace.tracking)
    if as_json:
        print_json([experiment_json(e) for e in experiments])
        return
    table = make_table("id", "name", "created", "tags", caption=f"{len(experiments)} experiment(s)")
    for e in experiments:
        tags = ", ".join(f"{k}={v}" for k, v in sorted(e.tags.items()))
        add_row(table, e.id, e.name, human_time(e.created_at), tags or "-")
    print_table(table)
