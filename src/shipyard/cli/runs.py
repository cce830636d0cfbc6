"""``shipyard runs``: list, show, compare and garbage-collect runs.

A run is named on the command line by its full id or by a unique prefix or
suffix of it (at least 4 characters). Tables show the last 8 characters of the
id: ids start with their creation time, so their ends tell runs apart.
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
    human_size,
    human_time,
    make_table,
    print_comparison,
    print_fields,
    print_json,
    print_mapping,
    print_table,
    short_digest,
    status_text,
    summarize,
    time_fields,
)
from shipyard.core.clock import now_ms
from shipyard.core.errors import InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from shipyard.tracking.models import RunRecord
    from shipyard.tracking.service import TrackingService

app = typer.Typer(help="Runs: list, inspect, compare and clean up training runs.", no_args_is_help=True)

ENTITIES = ("params", "metrics", "tags")
MIN_REF = 4
FIXED_WIDTHS = {"id": 8, "name": 12, "experiment": 10, "status": 8, "start": 16, "duration": 8}
MAX_SCAN = 50_000
EXP_HELP = "Only runs of this experiment (repeatable)."
FILTER_HELP = "Filter, e.g. \"metrics.auc > 0.9 and params.model = 'rf'\"."
ORDER_HELP = "Sort key, e.g. 'metrics.auc desc' (repeatable)."
COLUMNS_HELP = "Columns to show, e.g. metrics.auc,params.lr (default: some of each)."
OLDER_HELP = "Stale after this many seconds without a heartbeat [default: SHIPYARD_STALE_AFTER_S]."
LINEAGE_FIRST = ("git", "python", "host", "user", "command", "packages")


def short_id(run_id: str) -> str:
    return run_id[-8:]


def duration_ms(run: RunRecord) -> int:
    return (run.end_time if run.end_time is not None else now_ms()) - run.start_time


def is_stale(run: RunRecord, stale_after_s: float) -> bool:
    """Still running, without a heartbeat (or start) for longer than ``stale_after_s``."""
    last = run.heartbeat_at or run.start_time
    return run.status.value == "running" and now_ms() - last > stale_after_s * 1000


def run_json(run: RunRecord, experiment: str | None) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": run.id, "short_id": short_id(run.id), "experiment": experiment}
    for name in ("name", "experiment_id", "error", "params", "tags", "metrics", "lineage"):
        doc[name] = getattr(run, name)
    for name in ("start_time", "end_time", "heartbeat_at"):
        doc.update(time_fields(name, getattr(run, name)))
    return {**doc, "status": run.status.value, "duration_ms": duration_ms(run)}


def experiment_name(tracking: TrackingService, experiment_id: str) -> str:
    try:
        return tracking.get_experiment(experiment_id).name
    except NotFoundError:
        return experiment_id


def resolve_run(tracking: TrackingService, ref: str) -> RunRecord:
    """The run with id ``ref``, else the only run whose id starts or ends with ``ref``."""
    try:
        return tracking.get_run(ref)
    except NotFoundError:
        if not (ref.isascii() and ref.isalnum() and MIN_REF <= len(ref) < 32):
            raise
    ref = ref.lower()
    found: dict[str, RunRecord] = {}
    for pattern in (f"{ref}%", f"%{ref}"):
        for run in tracking.search_runs(filter=f"attributes.run_id like '{pattern}'", max_results=5):
            found[run.id] = run
    if not found:
        raise NotFoundError(f"run {ref!r} not found: no run id is, starts or ends with it")
    if len(found) > 1:
        ids = ", ".join(sorted(found)[:5])
        raise InvalidInputError(f"run {ref!r} is ambiguous: it matches {ids}; give more characters")
    return next(iter(found.values()))


# -- list -------------------------------------------------------------------------------
def parse_columns(specs: list[str]) -> list[str]:
    columns = [c.strip() for spec in specs for c in spec.split(",") if c.strip()]
    for column in columns:
        entity, dot, key = column.partition(".")
        if entity not in ENTITIES or not dot or not key:
            raise InvalidInputError(
                f"--columns: {column!r} is not a column; use params.<key>, metrics.<key> or tags.<key>"
            )
    return columns


def default_columns(runs: list[RunRecord], room: int) -> tuple[list[str], int]:
    """Up to ``room`` metric and param columns (half each when both overflow), and how many were left out."""
    metrics = sorted({k for r in runs for k in r.metrics})
    params = sorted({k for r in runs for k in r.params})
    n_metrics = min(len(metrics), max(room - len(params), (room + 1) // 2))
    picked = [f"metrics.{k}" for k in metrics[:n_metrics]]
    picked += [f"params.{k}" for k in params[: room - n_metrics]]
    return picked, len(metrics) + len(params) - len(picked)


def cell(run: RunRecord, column: str) -> str:
    entity, _, key = column.partition(".")
    values: dict[str, Any] = getattr(run, entity)
    return fmt_value(values.get(key))


@app.command("list")
def list_command(
    ctx: typer.Context,
    experiment: Annotated[
        list[str] | None, typer.Option("--experiment", "-e", metavar="NAME", help=EXP_HELP)
    ] = None,
    filter: Annotated[str | None, typer.Option("--filter", "-f", metavar="EXPR", help=FILTER_HELP)] = None,
    order_by: Annotated[
        list[str] | None, typer.Option("--order-by", "-o", metavar="SPEC", help=ORDER_HELP)
    ] = None,
    max_results: Annotated[int, typer.Option("--max-results", "-n", min=1, help="At most N runs.")] = 100,
    columns: Annotated[
        list[str] | None, typer.Option("--columns", "-c", metavar="COLS", help=COLUMNS_HELP)
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List runs, newest first unless --order-by says otherwise."""
    from shipyard.cli.experiments import all_experiments
    from shipyard.cli.output import columns_fit

    chosen = parse_columns(columns or [])
    tracking = state(ctx).workspace.tracking
    exps, order = experiment or None, order_by or None
    runs = tracking.search_runs(experiments=exps, filter=filter, order_by=order, max_results=max_results)
    names = {e.id: e.name for e in all_experiments(tracking)}
    if as_json:
        print_json([run_json(r, names.get(r.experiment_id)) for r in runs])
        return
    extra, hidden = (chosen, 0) if chosen else default_columns(runs, columns_fit(list(FIXED_WIDTHS.values())))
    caption = f"{len(runs)} run(s)" + (f"; {hidden} more column(s): choose with --columns" if hidden else "")
    widths = {k: FIXED_WIDTHS[k] for k in ("id", "status", "start", "duration")}
    widths.update({c: min(len(c), 14) for c in extra})
    table = make_table(*FIXED_WIDTHS, *extra, caption=caption, widths=widths)
    for r in runs:
        head = (short_id(r.id), r.name, names.get(r.experiment_id, r.experiment_id), status_text(r.status))
        times = (human_time(r.start_time), human_duration(duration_ms(r)))
        add_row(table, *head, *times, *(cell(r, c) for c in extra))
    print_table(table)


# -- show -------------------------------------------------------------------------------
@app.command("show")
def show_command(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(metavar="RUN", help="Run id, or a unique prefix or suffix of it.")],
    as_json: JsonFlag = False,
) -> None:
    """Show one run: status, times, lineage, inputs, params, tags, metrics and artifacts."""
    cli = state(ctx)
    tracking = cli.workspace.tracking
    record = resolve_run(tracking, run)
    artifacts = tracking.list_artifacts(record.id)
    stale_after_s = cli.settings.stale_after_s
    doc = run_json(record, experiment_name(tracking, record.experiment_id))
    doc["stale"] = is_stale(record, stale_after_s)
    doc["artifacts"] = [{"path": a.path, "digest": a.digest, "size": a.size} for a in artifacts]
    doc["inputs"] = [
        {"kind": i.kind, "ref": i.ref, "digest": i.digest, "context": i.context}
        for i in tracking.list_inputs(record.id)
    ]
    if as_json:
        print_json(doc)
    else:
        print_run(doc, stale_after_s)


def heartbeat_text(doc: dict[str, Any], stale_after_s: float) -> Text:
    last = doc["heartbeat_at_ms"] or doc["start_time_ms"]
    text = Text(f"{human_time(last)} ({human_duration(now_ms() - last)} ago)")
    if doc["stale"]:
        text.append(f"  stale: no heartbeat for more than {stale_after_s:g}s", style="bold red")
    return text


def lineage_fields(lineage: dict[str, Any]) -> list[tuple[str, str]]:
    """Known keys first; the package list as count + digest, other big values too."""
    keys = [k for k in LINEAGE_FIRST if k in lineage] + sorted(set(lineage) - set(LINEAGE_FIRST))
    return [(k, summarize(lineage[k], limit=0 if k == "packages" else 6)) for k in keys]


def print_run(doc: dict[str, Any], stale_after_s: float) -> None:
    fields: list[tuple[str, str | Text]] = [("id", doc["id"]), ("name", doc["name"])]
    fields += [("experiment", str(doc["experiment"])), ("status", status_text(doc["status"]))]
    fields += [("start", human_time(doc["start_time_ms"])), ("end", human_time(doc["end_time_ms"]))]
    fields.append(("duration", human_duration(doc["duration_ms"])))
    if doc["status"] == "running":
        fields.append(("heartbeat", heartbeat_text(doc, stale_after_s)))
    if doc["error"]:
        fields.append(("error", Text(doc["error"], style="red")))
    print_fields(f"Run {doc['short_id']}", fields)
    if doc["lineage"]:
        print_fields("Lineage", lineage_fields(doc["lineage"]))
    if doc["inputs"]:
        table = make_table("kind", "ref", "context", "digest")
        for i in doc["inputs"]:
            add_row(table, i["kind"], i["ref"], i["context"], short_digest(i["digest"]))
        print_table(table, "Inputs")
    print_mapping("Params", doc["params"])
    print_mapping("Tags", doc["tags"])
    print_mapping("Metrics (latest)", doc["metrics"])
    if doc["artifacts"]:
        table = make_table("path", "size", "digest")
        for a in doc["artifacts"]:
            add_row(table, a["path"], human_size(a["size"]), short_digest(a["digest"]))
        print_table(table, "Artifacts")


# -- compare ----------------------------------------------------------------------------
def compare_rows(runs: list[RunRecord], entity: str) -> list[dict[str, Any]]:
    keys = sorted({k for r in runs for k in getattr(r, entity)})
    rows = []
    for key in keys:
        values = [getattr(r, entity).get(key) for r in runs]
        rows.append({"key": key, "values": values, "differs": len({repr(v) for v in values}) > 1})
    return rows


@app.command("compare")
def compare_command(
    ctx: typer.Context,
    runs: Annotated[list[str], typer.Argument(metavar="RUN RUN...", help="Two or more run ids.")],
    as_json: JsonFlag = False,
) -> None:
    """Params and latest metrics of runs side by side; differing rows highlighted."""
    if len(runs) < 2:
        raise InvalidInputError("compare needs at least two runs")
    tracking = state(ctx).workspace.tracking
    records = [resolve_run(tracking, ref) for ref in runs]
    doc: dict[str, Any] = {
        "runs": [{"id": r.id, "short_id": short_id(r.id), "name": r.name} for r in records]
    }
    doc.update(params=compare_rows(records, "params"), metrics=compare_rows(records, "metrics"))
    if as_json:
        print_json(doc)
        return
    titles = [f"{short_id(r.id)}\n{r.name}" for r in records]
    print_comparison("params", titles, doc["params"])
    print_comparison("metrics", titles, doc["metrics"])


# -- gc ---------------------------------------------------------------------------------
@app.command("gc")
def gc_command(
    ctx: typer.Context,
    stale: Annotated[bool, typer.Option("--stale", help="Mark stale running runs killed.")] = False,
    older_than: Annotated[float | None, typer.Option(min=0, metavar="SECONDS", help=OLDER_HELP)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be marked.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Clean up runs: with --stale, mark running runs without a recent heartbeat as killed."""
    if not stale:
        raise InvalidInputError("nothing to collect: pass --stale to mark stale running runs killed")
    cli = state(ctx)
    tracking = cli.workspace.tracking
    limit = cli.settings.stale_after_s if older_than is None else older_than
    if dry_run:
        running = tracking.search_runs(filter="attributes.status = 'running'", max_results=MAX_SCAN)
        found = [r for r in running if is_stale(r, limit)]
    else:
        found = tracking.kill_stale_runs(limit)
    docs = [run_json(r, experiment_name(tracking, r.experiment_id)) for r in found]
    if as_json:
        print_json({"dry_run": dry_run, "older_than_s": limit, "runs": docs})
        return
    verb = "would mark killed" if dry_run else "marked killed"
    table = make_table("id", "name", "experiment", "last heartbeat", caption=f"{len(found)} run(s) {verb}")
    for d in docs:
        last = human_time(d["heartbeat_at_ms"] or d["start_time_ms"])
        add_row(table, d["short_id"], d["name"], d["experiment"], last)
    print_table(table)
