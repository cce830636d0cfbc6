"""``shipyard pipelines``: run pipelines with live progress per step, list, show and resume runs.

A pipeline is named ``module:attribute`` (``train:training`` for the ``training``
pipeline of ``train.py`` in the working directory). A run is named by its full id
or a unique prefix or suffix of it. A run that fails exits with code 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Group
from rich.live import Live
from rich.text import Text

from shipyard.cli import state
from shipyard.cli.output import (
    GENERIC,
    JsonFlag,
    add_row,
    console,
    error,
    human_duration,
    human_time,
    make_table,
    print_fields,
    print_json,
    print_table,
    short_digest,
    time_fields,
)
from shipyard.core.errors import InvalidInputError

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table

    from shipyard.pipelines.models import PipelineRun, StepRun
    from shipyard.pipelines.service import PipelineService

app = typer.Typer(help="Pipelines: run them, and list, inspect and resume their runs.", no_args_is_help=True)

STYLES = {
    "pending": "dim",
    "running": "cyan",
    "succeeded": "green",
    "cached": "blue",
    "failed": "red",
    "skipped": "yellow",
}
RUN_HELP = "Pipeline run id, or a unique prefix or suffix of it."
EXECUTOR_HELP = "Where steps run: local (processes on this machine) or ray."
LIVE_ROWS = 12

Executor = Annotated[str, typer.Option("--executor", "-x", metavar="NAME", help=EXECUTOR_HELP)]


def parse_params(pairs: list[str]) -> dict[str, str]:
    """``key=value`` options as a dict (values stay text: the pipeline's signature types them).

    >>> parse_params(["n=3", "name=a=b"])
    {'n': '3', 'name': 'a=b'}
    """
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"-p takes key=value, got {pair!r}")
        if key.strip() in params:
            raise InvalidInputError(f"parameter {key.strip()!r} is given twice")
        params[key.strip()] = value
    return params


# -- JSON and tables ----------------------------------------------------------------------
def step_json(step: StepRun) -> dict[str, Any]:
    return {
        "node": step.node,
        "step": step.step,
        "status": step.status.value,
        "attempts": step.attempts,
        "duration_ms": step.duration_ms,
        "cache_hit": step.cache_hit,
        "cache_key": step.cache_key,
        "inputs": step.inputs,
        "outputs": {
            name: {"digest": ref.digest, "materializer": ref.materializer, "size": ref.size}
            for name, ref in step.outputs.items()
        },
        "error": step.error,
        "tracking_run_id": step.tracking_run_id,
        **time_fields("started_at", step.started_at),
        **time_fields("ended_at", step.ended_at),
    }


def run_json(run: PipelineRun, steps: list[StepRun] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": run.id, "short_id": run.id[-8:], "status": run.status.value}
    for name in ("pipeline", "params", "executor", "source", "tracking_run_id", "resumed_from", "error"):
        doc[name] = getattr(run, name)
    doc.update(created_by=run.created_by, outputs=run.outputs, duration_ms=run.duration_ms)
    doc.update(time_fields("created_at", run.created_at), **time_fields("ended_at", run.ended_at))
    if steps is not None:
        doc["steps"] = [step_json(s) for s in steps]
    return doc


def status_cell(status: str) -> Text:
    return Text(status, style=STYLES.get(status, ""))


def steps_table(steps: list[StepRun], caption: str | None = None) -> Table:
    table = make_table("step", "status", "attempts", "duration", "cache", "outputs", caption=caption)
    for s in steps:
        outputs = ", ".join(f"{n} {short_digest(r.digest, 8)}" for n, r in s.outputs.items()) or "-"
        cache = "hit" if s.cache_hit else "-"
        duration = human_duration(s.duration_ms) if s.duration_ms is not None else "-"
        add_row(table, s.node, status_cell(s.status.value), str(s.attempts), duration, cache, outputs)
    return table


class LiveSteps:
    """The live view of a running pipeline: counts per status and the steps that moved last."""

    def __init__(self, nodes: list[str]) -> None:
        from shipyard.pipelines.models import StepRun

        self.steps: dict[str, StepRun] = {n: StepRun("", n, "") for n in nodes}
        self.recent: list[str] = []

    def __call__(self, step: StepRun) -> None:  # the runner's progress callback
        self.steps[step.node] = step
        if step.node in self.recent:
            self.recent.remove(step.node)
        self.recent.append(step.node)

    def __rich__(self) -> RenderableType:
        counts: dict[str, int] = {}
        for s in self.steps.values():
            counts[s.status.value] = counts.get(s.status.value, 0) + 1
        line = Text(f"{len(self.steps)} steps: ")
        for status in STYLES:
            if counts.get(status):
                line.append(f"{counts[status]} {status}  ", style=STYLES[status])
        shown = [self.steps[n] for n in self.recent[-LIVE_ROWS:]]
        return Group(line, steps_table(shown))


def print_run(run: PipelineRun, steps: list[StepRun]) -> None:
    fields: list[tuple[str, str | Text]] = [("id", run.id), ("pipeline", run.pipeline)]
    fields += [("status", status_cell(run.status.value)), ("executor", run.executor)]
    fields += [("started", human_time(run.created_at)), ("duration", human_duration(run.duration_ms))]
    fields += [("params", ", ".join(f"{k}={v!r}" for k, v in run.params.items()) or "-")]
    fields += [("tracked run", run.tracking_run_id or "-")]
    if run.resumed_from:
        fields.append(("resumed from", run.resumed_from))
    if run.error:
        fields.append(("error", Text(run.error, style="red")))
    print_fields(f"Pipeline run {run.id[-8:]}", fields)
    done = sum(s.status.is_done for s in steps)
    print_table(steps_table(steps, caption=f"{done}/{len(steps)} step(s) with outputs"), "Steps")
    out = console()
    for s in steps:
        if s.status.value == "failed" and s.error:
            out.print(Text(f"\nstep {s.node} failed after {s.attempts} attempt(s):", style="bold red"))
            out.print(Text(s.error.rstrip(), style="red"))


# -- commands -----------------------------------------------------------------------------
@app.command("run")
def run_command(
    ctx: typer.Context,
    pipeline: Annotated[
        str, typer.Argument(metavar="MODULE:PIPELINE", help="The pipeline, e.g. train:training.")
    ],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", metavar="KEY=VALUE", help="A parameter (repeatable).")
    ] = None,
    executor: Executor = "local",
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Run every step; reuse no cached output.")
    ] = False,
    experiment: Annotated[
        str | None, typer.Option("--experiment", "-e", metavar="NAME", help="Experiment of the tracked runs.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run a pipeline, showing each step's progress; exit 1 if it fails."""
    from shipyard.pipelines.loading import load_pipeline

    service = state(ctx).workspace.pipelines
    found = load_pipeline(pipeline)
    params = parse_params(param or [])
    found.bind(params)  # a bad or missing parameter stops here, before any run is recorded

    def start(progress: Any) -> PipelineRun:
        return service.run(
            found, params, executor=executor, cache=not no_cache, experiment=experiment, progress=progress
        )

    _finish(service, _watch(list(found.graph.nodes), start, as_json), as_json)


@app.command("resume")
def resume_command(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(metavar="RUN", help=RUN_HELP)],
    executor: Annotated[
        str | None, typer.Option("--executor", "-x", metavar="NAME", help="Default: the run's executor.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run a failed run again: the steps that succeeded are reused, the rest run."""
    service = state(ctx).workspace.pipelines
    earlier = service.find_run(run)
    nodes = [n["name"] for n in earlier.graph.get("nodes", [])]

    def start(progress: Any) -> PipelineRun:
        return service.resume(earlier.id, executor=executor, progress=progress)

    _finish(service, _watch(nodes, start, as_json), as_json)


def _watch(nodes: list[str], start: Any, as_json: bool) -> PipelineRun:
    if as_json:
        result: PipelineRun = start(None)
        return result
    view = LiveSteps(nodes)
    with Live(view, console=console(), refresh_per_second=8, transient=True):
        result = start(view)
    return result


def _finish(service: PipelineService, run: PipelineRun, as_json: bool) -> None:
    steps = service.list_steps(run.id)
    if as_json:
        print_json(run_json(run, steps))
    else:
        print_run(run, steps)
    if run.status.value != "succeeded":
        error(f"pipeline run {run.id} failed: {run.error}", GENERIC)


@app.command("list")
def list_command(
    ctx: typer.Context,
    pipeline: Annotated[
        str | None, typer.Option("--pipeline", metavar="NAME", help="Only runs of it.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most N runs.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """List pipeline runs, newest first."""
    runs = state(ctx).workspace.pipelines.list_runs(pipeline, limit)
    if as_json:
        print_json([run_json(r) for r in runs])
        return
    table = make_table(
        "id", "pipeline", "status", "started", "duration", "executor", caption=f"{len(runs)} run(s)"
    )
    for r in runs:
        add_row(
            table,
            r.id[-8:],
            r.pipeline,
            status_cell(r.status.value),
            human_time(r.created_at),
            human_duration(r.duration_ms),
            r.executor,
        )
    print_table(table)


@app.command("show")
def show_command(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(metavar="RUN", help=RUN_HELP)],
    as_json: JsonFlag = False,
) -> None:
    """Show a pipeline run: its parameters, each step's status, attempts, duration, cache hit,
    outputs, and the traceback of any failed step."""
    service = state(ctx).workspace.pipelines
    found = service.find_run(run)
    steps = service.list_steps(found.id)
    if as_json:
        print_json(run_json(found, steps))
    else:
        print_run(found, steps)
