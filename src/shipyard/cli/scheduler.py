"""``shipyard scheduler``: start pipelines on cron schedules and on events; add, list, remove schedules.

``shipyard scheduler`` alone runs the scheduler: a pass every ``--interval`` seconds
until stopped (Ctrl-C or SIGTERM), or one pass with ``--once``. Each line it prints is
something it did: ``claimed``, ``finished``, ``skipped`` (another scheduler claimed the
event), ``missed`` (cron times passed while no scheduler ran), ``error``; with
``--json``, one JSON object per line.
"""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from shipyard.cli import state
from shipyard.cli.output import (
    JsonFlag,
    add_row,
    console,
    human_time,
    make_table,
    print_json,
    print_table,
    time_fields,
)
from shipyard.cli.pipelines import parse_params

if TYPE_CHECKING:
    from shipyard.pipelines.models import Claim, Schedule
    from shipyard.pipelines.scheduling import Notice

app = typer.Typer(
    help="The scheduler: run it (no command), or add, list and remove the pipelines it starts.",
    invoke_without_command=True,
)

STYLES = {"claimed": "cyan", "finished": "green", "skipped": "dim", "missed": "yellow", "error": "red"}
REF_HELP = "The pipeline as MODULE:PIPELINE (e.g. train:training), or a schedule id."


@app.callback()
def scheduler_command(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Do one pass and exit.")] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, metavar="SECONDS", help="Seconds between passes.")
    ] = 10.0,
    executor: Annotated[
        str, typer.Option("--executor", "-x", metavar="NAME", help="Where runs' steps run: local or ray.")
    ] = "local",
    grace: Annotated[
        float | None,
        typer.Option(
            "--grace",
            min=0,
            metavar="SECONDS",
            help="A cron time older than this was missed (default: 60 s, or two intervals if longer).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Log one JSON object per line.")] = False,
) -> None:
    """Start pipelines on their cron schedules and triggers, and the runs asked for by code."""
    if ctx.invoked_subcommand is not None:
        return
    workspace = state(ctx).workspace
    service = workspace.scheduler
    grace_s = grace if grace is not None else max(60.0, 2 * interval)
    # Every pass first runs the monitors whose window is due: their alerts start pipelines.
    scheduler = service.scheduler(
        executor=executor,
        grace_s=grace_s,
        notify=_printer(as_json),
        tasks=[lambda: workspace.monitors.run_due()],
    )
    if once:
        scheduler.run_once()
        return
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        scheduler.run_forever(interval, stop)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def _printer(as_json: bool) -> Any:
    def show(notice: Notice) -> None:
        if as_json:
            import orjson

            typer.echo(orjson.dumps({**notice.to_json(), **time_fields("at", notice.at)}).decode())
            return
        line = Text(f"{human_time(notice.at)}  ")
        line.append(f"{notice.kind:<9}", style=STYLES.get(notice.kind, ""))
        line.append(f" {notice.ref}  {notice.event}  {notice.reason}")
        if notice.pipeline_run_id:
            line.append(f"  run {notice.pipeline_run_id[-8:]} {notice.status}")
        if notice.error:
            line.append(f"  {notice.error.strip().splitlines()[-1]}", style="red")
        console().print(line, soft_wrap=True)

    return show


@app.command("add")
def add_command(
    ctx: typer.Context,
    pipeline: Annotated[str, typer.Argument(metavar="MODULE:PIPELINE", help="The pipeline to schedule.")],
    cron: Annotated[
        str | None,
        typer.Option("--cron", metavar="EXPR", help="Cron expression in UTC (default: the pipeline's)."),
    ] = None,
    trigger: Annotated[
        list[str] | None,
        typer.Option(
            "--trigger",
            "-t",
            metavar="KIND:NAME[=PARAM]",
            help="dataset:NAME, model:NAME or alert:MONITOR, repeatable (default: the pipeline's).",
        ),
    ] = None,
    catchup: Annotated[
        bool, typer.Option("--catchup", help="Run once for cron times missed while no scheduler ran.")
    ] = False,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", metavar="KEY=VALUE", help="A parameter (repeatable).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Have the scheduler start a pipeline on a cron schedule and/or on events."""
    from shipyard.pipelines.triggers import parse_trigger

    triggers = [parse_trigger(t) for t in trigger] if trigger else None
    saved = state(ctx).workspace.scheduler.add(
        pipeline, schedule=cron, triggers=triggers, catchup=catchup, params=parse_params(param or [])
    )
    if as_json:
        print_json(schedule_json(saved))
    else:
        console().print(f"scheduled {saved.ref}: {_when(saved)}", markup=False, soft_wrap=True)


@app.command("list")
def list_command(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List the pipelines the scheduler starts."""
    found = state(ctx).workspace.scheduler.list()
    if as_json:
        print_json([schedule_json(s) for s in found])
        return
    table = make_table(
        "pipeline", "cron (UTC)", "triggers", "catchup", "params", caption=f"{len(found)} schedule(s)"
    )
    for s in found:
        triggers = ", ".join(t.describe() for t in s.triggers) or "-"
        params = ", ".join(f"{k}={v!r}" for k, v in s.params.items()) or "-"
        add_row(table, s.ref, s.cron or "-", triggers, "yes" if s.catchup else "no", params)
    print_table(table)


@app.command("remove")
def remove_command(
    ctx: typer.Context, pipeline: Annotated[str, typer.Argument(metavar="REF", help=REF_HELP)]
) -> None:
    """Stop scheduling a pipeline (what it ran stays in the history)."""
    removed = state(ctx).workspace.scheduler.remove(pipeline)
    console().print(f"unscheduled {removed.ref}", markup=False)


@app.command("history")
def history_command(
    ctx: typer.Context,
    pipeline: Annotated[str | None, typer.Argument(metavar="[REF]", help=REF_HELP)] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most N events.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """What the scheduler started, newest first: the event, why, which run, how it ended."""
    claims = state(ctx).workspace.scheduler.claims(pipeline, limit)
    if as_json:
        print_json([claim_json(c) for c in claims])
        return
    table = make_table(
        "claimed", "pipeline", "event", "reason", "run", "status", caption=f"{len(claims)} event(s)"
    )
    for c in claims:
        run = c.pipeline_run_id[-8:] if c.pipeline_run_id else "-"
        status = Text(
            c.status.value, style=STYLES.get("finished" if c.status.value == "succeeded" else "", "")
        )
        if c.status.value in ("failed", "error"):
            status.stylize("red")
        add_row(table, human_time(c.claimed_at), c.ref, c.event_key, c.reason, run, status)
    print_table(table)


@app.command("request")
def request_command(
    ctx: typer.Context,
    pipeline: Annotated[str, typer.Argument(metavar="MODULE:PIPELINE", help="The pipeline to run.")],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", metavar="KEY=VALUE", help="A parameter (repeatable).")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT", help="Why (kept in the history).")] = "",
) -> None:
    """Ask the running scheduler to run a pipeline once (its next pass claims and runs it)."""
    request = state(ctx).workspace.scheduler.request(pipeline, parse_params(param or []), reason)
    console().print(f"requested {request.ref} (request {request.id})", markup=False)


def _when(schedule: Schedule) -> str:
    parts = [f"cron {schedule.cron} (UTC)"] if schedule.cron else []
    parts += [f"on {t.describe()}" for t in schedule.triggers]
    return "; ".join(parts) + ("; catchup" if schedule.catchup else "")


def schedule_json(s: Schedule) -> dict[str, Any]:
    return {
        "id": s.id,
        "ref": s.ref,
        "pipeline": s.pipeline,
        "cron": s.cron,
        "triggers": [t.to_json() for t in s.triggers],
        "catchup": s.catchup,
        "params": s.params,
        "created_by": s.created_by,
        "audit_seq": s.audit_seq,
        **time_fields("created_at", s.created_at),
        **time_fields("updated_at", s.updated_at),
        **time_fields("cron_at", s.cron_at),
    }


def claim_json(c: Claim) -> dict[str, Any]:
    return {
        "schedule_id": c.schedule_id,
        "event": c.event_key,
        "ref": c.ref,
        "reason": c.reason,
        "claimed_by": c.claimed_by,
        "status": c.status.value,
        "pipeline_run_id": c.pipeline_run_id,
        "error": c.error,
        **time_fields("claimed_at", c.claimed_at),
        **time_fields("ended_at", c.ended_at),
    }
